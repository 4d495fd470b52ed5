//! `console completions SHELL` and `console man`: the shell completion script and the
//! manual page, both generated from the one command-line definition (clap_complete,
//! clap_mangen), so they never drift from `--help`.

use super::Cli;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::io::Write;

#[derive(Debug, Args)]
#[command(after_help = "Install:
  bash:  console completions bash > ~/.local/share/bash-completion/completions/console
  zsh:   console completions zsh > ~/.zfunc/_console   (with fpath+=(~/.zfunc) in ~/.zshrc)
  fish:  console completions fish > ~/.config/fish/completions/console.fish
  PowerShell: console completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: Shell,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut Cli::command(), "console", &mut out);
    out.flush()?;
    Ok(())
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console man | man -l -
  console man > /usr/local/share/man/man1/console.1")]
pub struct ManArgs {}

pub fn man(_args: ManArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(())
}
