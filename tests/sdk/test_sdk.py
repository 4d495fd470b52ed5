"""The real Python SDK (orchagent-sdk==0.1.13, module orchagent.storage) against `console serve`.

Run by tests/sdk/run.sh, which starts the server and sets ORCHAGENT_GATEWAY_URL and
ORCHAGENT_API_KEY (a key of a free-tier workspace). Plain asserts: runs with `python` or pytest.
"""

import os
import threading

os.environ.pop("ORCHAGENT_SERVICE_KEY", None)
assert os.environ.get("ORCHAGENT_GATEWAY_URL", "").startswith("http://127.0.0.1:"), "run via run.sh"

from orchagent import storage  # noqa: E402
from orchagent.storage import (  # noqa: E402
    StorageConflictError,
    StorageError,
    StorageNotFoundError,
    StorageQuotaError,
)


def raises(cls, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except cls as e:
        return e
    raise AssertionError(f"{fn.__name__} did not raise {cls.__name__}")


def test_set_and_get():
    meta = storage.set("sdk-basic", "doc", {"pending": [], "done": []})
    assert meta["version"] == 1 and meta["namespace"] == "sdk-basic" and meta["key"] == "doc"
    assert meta["updated_by"] == "api"
    assert storage.get("sdk-basic", "doc") == {"pending": [], "done": []}
    assert storage.get("sdk-basic", "missing") is None
    # With a version: compare-and-swap.
    meta = storage.set("sdk-basic", "doc", {"pending": [1]}, version=1)
    assert meta["version"] == 2
    e = raises(StorageConflictError, storage.set, "sdk-basic", "doc", {"stale": True}, version=1)
    assert e.status_code == 409
    assert storage.get("sdk-basic", "doc") == {"pending": [1]}
    # Arrays are documents too.
    storage.set("sdk-basic", "list", [1, 2, 3])
    assert storage.get("sdk-basic", "list") == [1, 2, 3]
    assert storage.delete_namespace("sdk-basic") == 2


def test_update_with_cas_retry():
    storage.update("sdk-update", "counter", lambda doc: {"n": (doc or {"n": 0})["n"] + 1})
    assert storage.get("sdk-update", "counter") == {"n": 1}
    storage.update("sdk-update", "counter", lambda doc: {**doc, "n": doc["n"] + 1})
    assert storage.get("sdk-update", "counter") == {"n": 2}


def test_update_with_concurrent_updaters():
    threads, per_thread = 4, 10
    storage.set("sdk-update", "shared", {"n": 0, "by": []})
    errors = []

    def worker(t):
        for i in range(per_thread):
            for _attempt in range(20):
                try:
                    storage.update(
                        "sdk-update",
                        "shared",
                        lambda doc: {"n": doc["n"] + 1, "by": doc["by"] + [f"{t}-{i}"]},
                    )
                    break
                except StorageConflictError:
                    continue
            else:
                errors.append(f"{t}-{i} never got through")

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    assert not errors, errors
    final = storage.get("sdk-update", "shared")
    assert final["n"] == threads * per_thread, final["n"]
    assert len(set(final["by"])) == threads * per_thread
    assert storage.delete_namespace("sdk-update") == 2


def test_patch():
    storage.set("sdk-patch", "doc", {"status": "open", "drop": 1, "keep": True})
    meta = storage.patch("sdk-patch", "doc", {"status": "done", "drop": None, "reviewed": True})
    assert meta["version"] == 2
    assert storage.get("sdk-patch", "doc") == {"status": "done", "keep": True, "reviewed": True}
    e = raises(StorageNotFoundError, storage.patch, "sdk-patch", "missing", {"a": 1})
    assert e.status_code == 404
    storage.set("sdk-patch", "array", [1])
    e = raises(StorageError, storage.patch, "sdk-patch", "array", {"a": 1})
    assert e.status_code == 400
    assert storage.delete_namespace("sdk-patch") == 2


def test_list_with_cursor_paging_and_namespaces():
    keys = [f"k{i:02d}" for i in range(25)]
    for k in keys:
        storage.set("sdk-list", k, {"k": k})
    seen, cursor, pages = [], None, 0
    while True:
        page = storage.list("sdk-list", limit=10, cursor=cursor)
        pages += 1
        assert len(page["keys"]) <= 10
        seen += page["keys"]
        if not page["has_more"]:
            assert page["cursor"] is None
            break
        cursor = page["cursor"]
        assert pages < 10
    assert pages == 3
    assert seen == keys
    assert storage.list("sdk-list")["keys"] == keys
    assert storage.list("sdk-empty") == {"keys": [], "cursor": None, "has_more": False}
    storage.set("sdk-list2", "a", {})
    names = storage.namespaces()
    assert "sdk-list" in names and "sdk-list2" in names
    assert names == sorted(names)
    assert storage.delete_namespace("sdk-list") == 25
    assert storage.delete_namespace("sdk-list2") == 1
    assert "sdk-list" not in storage.namespaces()


def test_delete_and_delete_namespace():
    storage.set("sdk-delete", "a", {})
    storage.set("sdk-delete", "b", {})
    assert storage.delete("sdk-delete", "a") is True
    assert storage.get("sdk-delete", "a") is None
    raises(StorageNotFoundError, storage.delete, "sdk-delete", "a")
    assert storage.delete_namespace("sdk-delete") == 1
    raises(StorageNotFoundError, storage.delete_namespace, "sdk-delete")


def test_errors_and_free_tier_quotas():
    e = raises(StorageError, storage.set, "Bad_NS", "k", {})
    assert e.status_code == 400 and not isinstance(e, (StorageNotFoundError, StorageConflictError))
    # Larger than the free tier's 100 KB document limit: 413.
    e = raises(StorageQuotaError, storage.set, "sdk-quota", "big", {"blob": "x" * (101 * 1024)})
    assert e.status_code == 413
    # 100 documents per namespace on the free tier: the 101st is 429 STORAGE_QUOTA_EXCEEDED.
    for i in range(100):
        storage.set("sdk-quota", f"d{i:03d}", {"i": i})
    e = raises(StorageQuotaError, storage.set, "sdk-quota", "one-more", {})
    assert e.status_code == 429
    assert storage.get("sdk-quota", "one-more") is None
    # Replacing an existing document is still fine.
    storage.set("sdk-quota", "d000", {"i": -1})
    assert storage.delete_namespace("sdk-quota") == 100


TESTS = [
    test_set_and_get,
    test_update_with_cas_retry,
    test_update_with_concurrent_updaters,
    test_patch,
    test_list_with_cursor_paging_and_namespaces,
    test_delete_and_delete_namespace,
    test_errors_and_free_tier_quotas,
]

if __name__ == "__main__":
    failed = 0
    for test in TESTS:
        try:
            test()
            print(f"ok   {test.__name__}")
        except Exception as e:  # noqa: BLE001
            failed += 1
            print(f"FAIL {test.__name__}: {type(e).__name__}: {e}")
    print(f"{len(TESTS) - failed} passed, {failed} failed")
    raise SystemExit(1 if failed else 0)
