"""Configuration read at start-up: the secret key generated once into the instance folder."""

from __future__ import annotations

import threading

from portal.config import secret_key


def test_workers_starting_together_on_a_fresh_instance_share_one_whole_key(tmp_path, monkeypatch):
    """gunicorn starts its workers at once; on a fresh installation each looks for the key file
    and the first creates it. Every worker must come up, all with the same full key: none may
    fail on the file another just created, nor read it before it is written."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    workers = 8
    for round_ in range(30):
        instance = tmp_path / f"instance-{round_}"
        start = threading.Barrier(workers)
        keys, failures = [], []

        def start_worker(instance=instance, start=start, keys=keys, failures=failures):
            start.wait()
            try:
                keys.append(secret_key(str(instance)))
            except OSError as exc:
                failures.append(exc)

        threads = [threading.Thread(target=start_worker) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
        assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary file left
