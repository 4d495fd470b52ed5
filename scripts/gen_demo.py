#!/usr/bin/env python3
"""Generates the demo documents in assets/demo/ (deterministic: fixed seed).

Each line is {"ns", "key", "by", "value"}; a key that appears twice is written twice, so
the demo has documents at version 2 and more. Run from the repository root."""
import json, random

random.seed(17)
AGENTS = ["acme/sec-scanner@1.4.2", "acme/dep-auditor@0.9.0", "acme/lint-bot@2.1.0",
          "acme/triage-helper@0.3.1", "acme/perf-watch@1.0.0"]
REPOS = ["billing-api", "web-frontend", "auth-service", "data-pipeline", "mobile-app", "infra"]
FILES = ["src/handlers/payment.rs", "src/auth/session.ts", "lib/db/query.py", "cmd/server/main.go",
         "app/models/user.rb", "terraform/iam.tf", "src/utils/crypto.js", "Dockerfile"]
TITLES = [
    ("critical", "SQL built from request parameter", "query string concatenated into SELECT"),
    ("high", "Hard-coded AWS access key", "AKIA-style key in source"),
    ("high", "JWT signature not verified", "decode() called with verify=False"),
    ("medium", "Dependency with known CVE", "lodash 4.17.15 (CVE-2020-8203)"),
    ("medium", "Missing rate limit on login", "no throttle on POST /login"),
    ("low", "Verbose error leaks stack trace", "500 responses include traceback"),
    ("low", "TODO left in security check", "// TODO: check permissions"),
    ("info", "Unpinned base image", "FROM node:latest"),
    ("medium", "Wildcard IAM permission", "Action: s3:* on *"),
    ("high", "Path traversal in file download", "user path joined without normalisation"),
]
ACTIONS = ["ignore", "escalate", "fix"]

def line(ns, key, by, value):
    return json.dumps({"ns": ns, "key": key, "by": by, "value": value}, ensure_ascii=False)

def findings():
    out = []
    for i in range(1, 141):
        sev, title, ev = random.choice(TITLES)
        agent = random.choice(AGENTS[:3])
        day = 1 + i % 28
        v = {
            "severity": sev, "title": title, "agent": agent,
            "repo": random.choice(REPOS), "file": random.choice(FILES),
            "line": random.randint(3, 900),
            "evidence": {"snippet": ev, "rule": f"R{random.randint(100, 999)}",
                         "confidence": round(random.uniform(0.5, 0.99), 2)},
            "detected_at": f"2026-03-{day:02d}T{random.randint(0, 23):02d}:{random.randint(0, 59):02d}:00Z",
            "tags": random.sample(["secrets", "injection", "supply-chain", "config", "auth", "crypto"], 2),
        }
        key = f"F-2026-03-{day:02d}-{i:03d}"
        out.append(line("findings", key, agent, v))
        if i % 4 == 0:  # reviewed by a human later: version 2
            r = dict(v, reviewed=True, reviewed_at=f"2026-03-{min(day + 1, 28):02d}T09:30:00Z",
                     reviewed_by=random.choice(["maria", "kenji", "ola"]), action=random.choice(ACTIONS))
            out.append(line("findings", key, "tui", r))
    return out

def checkpoints():
    out = []
    for a in AGENTS:
        name = a.split("/")[1].split("@")[0]
        for job in ["weekly-scan", "nightly-audit", "backfill"]:
            pending = random.sample(REPOS, random.randint(0, 4))
            scanned = [r for r in REPOS if r not in pending]
            v = {"agent": a, "job": job, "run_id": f"run-{random.randint(1000, 9999)}",
                 "started_at": "2026-03-05T02:00:00Z", "scanned": scanned, "pending": pending,
                 "cursor": {"repo": pending[0] if pending else None, "page": random.randint(1, 40)},
                 "stats": {"files": random.randint(100, 9000), "findings": random.randint(0, 40)}}
            out.append(line("checkpoints", f"{name}.{job}", a, v))
            if pending:
                v2 = dict(v, pending=pending[1:], scanned=scanned + pending[:1])
                out.append(line("checkpoints", f"{name}.{job}", a, v2))
    return out

def coordination():
    out = []
    for r in REPOS:
        out.append(line("coordination", f"lock.{r}", random.choice(AGENTS),
                        {"holder": random.choice(AGENTS), "acquired_at": "2026-03-05T10:00:00Z",
                         "lease_secs": 600, "purpose": "rewriting dependency manifest"}))
    for rel in ["1.3", "1.4", "2.0"]:
        out.append(line("coordination", f"plan.release-{rel}", "acme/triage-helper@0.3.1",
                        {"release": rel, "owner": "kenji",
                         "steps": [{"name": s, "done": random.random() < 0.5, "agent": random.choice(AGENTS)}
                                   for s in ["freeze", "audit", "changelog", "tag", "publish"]],
                         "blockers": random.sample(["F-2026-03-04-012", "F-2026-03-09-040", "CI flaky"], 1)}))
    for i in range(1, 21):
        out.append(line("coordination", f"task.{i:04d}", random.choice(AGENTS),
                        {"title": f"Re-scan {random.choice(REPOS)} after fix", "state": random.choice(["queued", "claimed", "done"]),
                         "claimed_by": random.choice(AGENTS), "attempts": random.randint(0, 3)}))
    return out

def signals():
    out = []
    for d in range(1, 29):
        key = f"2026-03-{d:02d}"
        pending = [f"sig-{d}-{j}" for j in range(random.randint(0, 5))]
        done = [f"sig-{d}-{j}" for j in range(5, 5 + random.randint(0, 8))]
        out.append(line("signals", key, random.choice(AGENTS), {"pending": pending, "done": done}))
    return out

def dedup():
    out = []
    for i in range(120):
        h = "%040x" % random.getrandbits(160)
        out.append(line("dedup", f"sha-{h[:16]}", random.choice(AGENTS),
                        {"first_seen": f"2026-02-{1 + i % 28:02d}T12:00:00Z", "count": random.randint(1, 50),
                         "source": random.choice(REPOS), "kind": random.choice(["finding", "alert", "commit"])}))
    return out

for name, fn in [("findings", findings), ("checkpoints", checkpoints), ("coordination", coordination),
                 ("signals", signals), ("dedup", dedup)]:
    with open(f"assets/demo/{name}.jsonl", "w") as f:
        f.write("\n".join(fn()) + "\n")
