"""The server's Python half: an HTTP server on 127.0.0.1, its banner from Rust."""

import http.server
import socketserver

import serverinfo


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from routes.py\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(port):
    socketserver.TCPServer.allow_reuse_address = True
    with socketserver.TCPServer(("127.0.0.1", port), Handler) as server:
        print(serverinfo.banner(port), flush=True)
        server.serve_forever()
