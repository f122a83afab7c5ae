"""A second, independent authorization server for interoperability tests: Authlib's (Debian's
python3-authlib) RFC 6749 token endpoint, client_credentials grant, client_secret_basic and
client_secret_post. It shares no code with the gateway; Authlib 1.2 does not URL-decode Basic
credentials, as several production servers do not.

Run with /usr/bin/python3 test/support/authlib-token-endpoint.py '<clients JSON>'; it listens on an
ephemeral port on 127.0.0.1 and prints "listening <port>" once ready. Clients JSON:
[{"client_id": "...", "client_secret": "...", "scope": "a b"}].
"""

import json
import os
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

# Plain http on loopback only; Authlib refuses it otherwise.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin  # noqa: E402
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant  # noqa: E402
from authlib.oauth2.rfc6749.wrappers import OAuth2Request  # noqa: E402
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # noqa: E402


class Client(ClientMixin):
    def __init__(self, spec):
        self.client_id = spec["client_id"]
        self.client_secret = spec["client_secret"]
        self.scope = spec.get("scope", "")

    def get_client_id(self):
        return self.client_id

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class Server(AuthorizationServer):
    def __init__(self, clients):
        super().__init__()
        self.clients = {c.client_id: c for c in clients}
        ClientCredentialsGrant.TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
        self.register_grant(ClientCredentialsGrant)
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda *args, **kwargs: secrets.token_urlsafe(32))
        )

    def query_client(self, client_id):
        return self.clients.get(client_id)

    def save_token(self, token, request):
        pass

    def create_oauth2_request(self, request):
        return request

    def handle_response(self, status, body, headers):
        return status, body, headers

    def send_signal(self, name, *args, **kwargs):
        pass


def main():
    server = Server([Client(spec) for spec in json.loads(sys.argv[1])])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
            uri = f"http://127.0.0.1:{self.server.server_port}{self.path}"
            # The message object itself: its get() is case-insensitive, as HTTP header names are.
            request = OAuth2Request("POST", uri, form, self.headers)
            status, body, headers = server.create_token_response(request)
            payload = json.dumps(body).encode("utf-8")
            self.send_response(status)
            for name, value in headers:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {httpd.server_port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
