#!/usr/bin/python3
"""mock_api.py - a stand-in for the Anthropic Messages API that plays a
script of assistant turns, for driving the real Claude Code binary in
tests with no network.

  mock_api.py serve --script S.json --log LOG.jsonl --port-file F
  mock_api.py result LOG.jsonl TOOL_USE_ID   the tool result the agent sent
  mock_api.py tools LOG.jsonl                the tool names it offered

The script is a JSON list of assistant turns. A turn is a list of content
blocks, {"type": "text", "text": ...} or {"type": "tool_use", "name": ...,
"input": {...}, "id": ...} (id optional), or an object {"content": [...],
"before": "SHELL COMMAND"} whose command runs once, before that turn is
answered (to change the remote side between two turns). Past the script's
end the mock answers "done." with end_turn.

Which turn a request wants is read from the conversation, not counted:
turn N answers a request whose messages hold N assistant messages, so a
retried request gets the same answer. Only the agent's main loop plays the
script: a request that offers tools (beyond none) and is not a one-token
probe. Every other request (title or summary with the small model,
count_tokens, quota probes, HEAD/GET, oauth and metrics endpoints) gets a
small sensible answer and never moves the script.

Every request is appended to the log, one JSON object a line: method,
path, kind (main or side), turn and the body.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
HOOKS_RUN = set()
MSG_IDS = itertools.count(1)


def turn_of(body):
    return sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")


def is_main(body):
    tools = body.get("tools") or []
    names = {t.get("name") for t in tools if isinstance(t, dict)}
    # the main loop offers the Bash tool; a quota probe asks for 1 token
    return "Bash" in names and body.get("max_tokens", 2) > 1


def script_turn(script, n):
    """The content blocks of turn n, with ids filled in, and its hook."""
    if n >= len(script):
        return [{"type": "text", "text": "done."}], None
    t = script[n]
    before = None
    if isinstance(t, dict):
        before = t.get("before")
        t = t["content"]
    blocks = []
    for i, b in enumerate(t):
        b = dict(b)
        if b["type"] == "tool_use":
            b.setdefault("id", "toolu_t%d_%d" % (n, i))
            b.setdefault("input", {})
        blocks.append(b)
    return blocks, before


def message(model, blocks):
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return {
        "id": "msg_mock_%d" % next(MSG_IDS),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 20,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


def sse_events(msg):
    """The stream of events the API sends for one message."""
    start = dict(msg, content=[], stop_reason=None)
    start["usage"] = dict(msg["usage"], output_tokens=1)
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for i, b in enumerate(msg["content"]):
        if b["type"] == "text":
            yield "content_block_start", {"type": "content_block_start", "index": i,
                                          "content_block": {"type": "text", "text": ""}}
            text = b["text"]
            # in two pieces, as the real API splits text
            for piece in (text[: len(text) // 2], text[len(text) // 2:]):
                yield "content_block_delta", {"type": "content_block_delta", "index": i,
                                              "delta": {"type": "text_delta", "text": piece}}
        else:
            yield "content_block_start", {"type": "content_block_start", "index": i,
                                          "content_block": {"type": "tool_use", "id": b["id"],
                                                            "name": b["name"], "input": {}}}
            js = json.dumps(b["input"])
            for k in range(0, len(js), 40):
                yield "content_block_delta", {"type": "content_block_delta", "index": i,
                                              "delta": {"type": "input_json_delta",
                                                        "partial_json": js[k:k + 40]}}
        yield "content_block_stop", {"type": "content_block_stop", "index": i}
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                            "usage": {"output_tokens": msg["usage"]["output_tokens"]}}
    yield "message_stop", {"type": "message_stop"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-anthropic/1"

    def log_message(self, fmt, *args):
        pass

    def record(self, kind, turn, body):
        rec = {"method": self.command, "path": self.path, "kind": kind,
               "turn": turn, "body": body}
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(rec) + "\n")

    def send_json(self, obj, code=200):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_mock")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_sse(self, msg):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", "req_mock")
        self.end_headers()
        for ev, data in sse_events(msg):
            self.chunk(("event: %s\ndata: %s\n\n" % (ev, json.dumps(data))).encode())
        self.chunk(b"")
        self.wfile.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {"raw": raw.decode("utf-8", "replace")}

    def do_POST(self):
        body = self.read_body()
        path = self.path.split("?")[0]
        if path == "/v1/messages/count_tokens":
            self.record("side", None, body)
            return self.send_json({"input_tokens": 1000})
        if path != "/v1/messages":
            self.record("side", None, body)
            return self.send_json({})
        model = body.get("model", "claude-mock")
        if is_main(body):
            n = turn_of(body)
            self.record("main", n, body)
            blocks, before = script_turn(self.server.script, n)
            with LOCK:
                run = before and n not in HOOKS_RUN
                HOOKS_RUN.add(n)
            if run:
                subprocess.run(["sh", "-c", before], check=False)
        else:
            self.record("side", None, body)
            # a title or summary request, or a quota probe
            blocks = [{"type": "text", "text": "Mock session"}]
        msg = message(model, blocks)
        if body.get("stream"):
            self.send_sse(msg)
        else:
            self.send_json(msg)

    def do_GET(self):
        self.record("side", None, None)
        self.send_json({})

    do_HEAD = do_GET


def serve(args):
    opts = dict(zip(args[::2], args[1::2]))
    with open(opts["--script"]) as f:
        script = json.load(f)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.script = script
    srv.log = opts["--log"]
    open(srv.log, "a").close()
    tmp = opts["--port-file"] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, opts["--port-file"])
    srv.serve_forever()


def records(log):
    with open(log) as f:
        for line in f:
            yield json.loads(line)


def result(log, tid):
    """Prints the tool result for tool_use id tid: 'error: ' first if the
    agent flagged it, then its text."""
    for r in records(log):
        if r["kind"] != "main":
            continue
        for m in r["body"].get("messages", []):
            if m.get("role") != "user" or not isinstance(m.get("content"), list):
                continue
            for b in m["content"]:
                if b.get("type") == "tool_result" and b.get("tool_use_id") == tid:
                    c = b.get("content", "")
                    if isinstance(c, list):
                        c = "\n".join(x.get("text", "") for x in c if x.get("type") == "text")
                    print(("error: " if b.get("is_error") else "") + c)
                    return 0
    print("no result for %s" % tid)
    return 1


def tools(log):
    for r in records(log):
        if r["kind"] == "main":
            print(" ".join(t["name"] for t in r["body"]["tools"]))
            return 0
    return 1


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    # a reader that stops early (head) ends us quietly
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if cmd == "serve":
        serve(args)
    elif cmd == "result":
        sys.exit(result(*args))
    elif cmd == "tools":
        sys.exit(tools(*args))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
