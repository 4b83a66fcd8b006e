"""python_servers.py: the blog post's socketserver echo servers, ported to Python 3, for the benchmark.

The blog post (jwh5566's "多进程/多线程socket应用", 14 September 2017; docs/README.md, "From the
blog post to C") builds a ForkingMixIn and a ThreadingMixIn server on Python 2.7's SocketServer;
here they are on Python 3's socketserver, plus the plain iterative TCPServer to set beside
01-blocking. They speak this project's protocol, so the load generator can drive them exactly as
it drives the C stages:

  first stdout line: "Server listening on 127.0.0.1:PORT (PID N)"
  then, per line received (at most 1024 bytes before its newline): "TAG: LINE\\n"
  TAG: os.getpid() (forking, iterative) or threading.current_thread().name (threading)

usage: python3 python_servers.py forking|threading|iterative [-a ADDRESS] [-p PORT] [-q] [-m MAX]
"""

import argparse
import os
import signal
import socketserver
import sys
import threading

LINE_LIMIT = 1024  # the blog post's BUF_SIZE
TOO_LONG = b"error: line too long (limit 1024 bytes)\n"


class EchoHandler(socketserver.StreamRequestHandler):
    """Answer every line with "TAG: LINE\\n" until the client's EOF."""

    def handle(self):
        tag = self.server.tag().encode()
        while True:
            # One byte more than a line and its newline can hold tells an over-long line.
            line = self.rfile.readline(LINE_LIMIT + 1)
            if not line:
                return
            if line.endswith(b"\n"):
                line = line[:-1]
            elif len(line) > LINE_LIMIT:
                self.wfile.write(TOO_LONG)
                return
            reply = tag + b": " + line + b"\n"
            if not self.server.quiet:
                print("Server sending response [%s]" % reply[:-1].decode(errors="replace"),
                      flush=True)
            self.wfile.write(reply)  # unbuffered writer: one sendall per reply


class Settings:
    """What every model below shares: the backlog, the quiet flag."""

    # The C stages ask listen() for a backlog of 4096 (common/net.c's LISTEN_BACKLOG), which the
    # kernel caps at its own limit; socketserver's default is 5. With 8 clients connecting at
    # once, 5 drops SYNs and costs a 1 s retransmission: that would measure the backlog, not the
    # model.
    request_queue_size = 4096
    allow_reuse_address = True
    quiet = False


class IterativeServer(Settings, socketserver.TCPServer):
    def tag(self):
        return str(os.getpid())


class ForkingServer(Settings, socketserver.ForkingMixIn, socketserver.TCPServer):
    def tag(self):
        return str(os.getpid())


class ThreadingServer(Settings, socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True  # a client still connected at shutdown does not hold the exit

    def tag(self):
        return threading.current_thread().name


MODELS = {"iterative": IterativeServer, "forking": ForkingServer, "threading": ThreadingServer}


class Stop(BaseException):
    """Raised by SIGTERM/SIGINT. Not an Exception: socketserver catches those in a handler,
    prints them and goes on serving, which would turn a stop request into a traceback."""


def stop(signum, frame):
    raise Stop()


def main():
    parser = argparse.ArgumentParser(description="The blog post's socketserver models.")
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("-a", default="127.0.0.1", metavar="ADDRESS")
    parser.add_argument("-p", type=int, default=0, metavar="PORT")
    parser.add_argument("-q", action="store_true", help="no line per response")
    parser.add_argument("-m", type=int, default=40, metavar="MAX",
                        help="forking: at most MAX children (ForkingMixIn.max_children)")
    args = parser.parse_args()

    server = MODELS[args.model]((args.a, args.p), EchoHandler)
    server.quiet = args.q
    if args.model == "forking":
        server.max_children = args.m
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print("Server listening on %s:%d (PID %d)" % (host, port, os.getpid()), flush=True)
    try:
        server.serve_forever()
    except Stop:
        pass
    finally:
        # Forking: waits for (reaps) every child, so the parent's rusage counts them.
        server.server_close()
    print("Server shutting down", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
