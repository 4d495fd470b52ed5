//! The connection layer of `console serve`: the accept loop over hyper's HTTP/1.1 server,
//! with the time limits a client cannot hold a connection beyond (request head, request
//! body, idle keep-alive), the bounded graceful shutdown, and the answers hyper gives on
//! its own (a request it cannot parse: 400, 414, 431) rewritten into the error envelope
//! with an `X-Request-Id`, like every other answer.

use super::AppState;
use axum::Router;
use axum::body::{Body, Bytes};
use http_body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, ends the
/// change feeds, lets the requests in flight finish for at most `options.shutdown_grace`
/// and closes whatever is still open.
pub(crate) async fn run(
    listener: TcpListener,
    state: AppState,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let options = state.inner.options.clone();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The head timer runs from the moment a connection waits for a request: it bounds
    // both a slow head (slowloris) and an idle keep-alive connection.
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let io = TokioIo::new(Socket::new(tcp));
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                app.clone(),
                |r: hyper::Request<hyper::body::Incoming>| r.map(Body::new),
            ));
        let conn = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down");
    state.begin_shutdown();
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(options.shutdown_grace) => {
            tracing::warn!(
                grace = ?options.shutdown_grace,
                "closing the connections still open after the shutdown grace period"
            );
        }
    }
    Ok(())
}

/// A connection's socket as hyper sees it: it replaces the bare answers hyper writes
/// itself for requests it cannot parse with the contract's envelope.
struct Socket {
    tcp: TcpStream,
    /// An envelope answer still to be written in place of hyper's.
    pending: Vec<u8>,
    sent: usize,
}

impl Socket {
    fn new(tcp: TcpStream) -> Socket {
        Socket {
            tcp,
            pending: Vec::new(),
            sent: 0,
        }
    }

    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The envelope answer replacing `buf` when `buf` is an answer hyper made on its own: a
/// whole 4xx response head with no body and without the `x-request-id` every answer of
/// the router carries.
fn own_answer(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.1 4") || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    if head.matches("\r\n\r\n").count() != 1 || head.to_ascii_lowercase().contains("x-request-id") {
        return None;
    }
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let message = match status {
        414 => "the request target (path and query) is longer than this server accepts",
        431 => "the request headers are larger than this server accepts",
        _ => "the request is not valid HTTP/1.1 (request line, target or headers)",
    };
    let (id, body) = super::envelope::bare_error(message);
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()?
        .canonical_reason()
        .unwrap_or("Bad Request");
    tracing::debug!(request_id = %id, status, "refused a request that is not valid HTTP");
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {id}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(answer) = own_answer(buf) {
            self.pending = answer;
            self.sent = 0;
            // Written by the next write, flush or shutdown if the socket is full now.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let [one] = bufs {
            return self.poll_write(cx, one);
        }
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// A request body under watch: it must keep arriving (no gap longer than `timeout`
/// between two pieces), and `finished` tells whether it was read to its end, so a
/// response sent before that can say `Connection: close` (the client then knows the
/// connection ends, rather than seeing a reset it cannot interpret).
pub(crate) struct WatchedBody {
    inner: Body,
    timeout: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    finished: Arc<AtomicBool>,
}

impl WatchedBody {
    pub(crate) fn new(inner: Body, timeout: Duration) -> (WatchedBody, Arc<AtomicBool>) {
        let finished = Arc::new(AtomicBool::new(false));
        let body = WatchedBody {
            inner,
            timeout,
            timer: None,
            finished: finished.clone(),
        };
        (body, finished)
    }
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                if frame.is_none() || this.inner.is_end_stream() {
                    this.finished.store(true, Ordering::Relaxed);
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(format!(
                    "the request body stalled for longer than {timeout:?}"
                )
                .into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
