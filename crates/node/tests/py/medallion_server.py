"""medallion, the OASIS TAXII 2.1 reference server (from PyPI), for tests/it/taxii_pull.rs.

Runs medallion's own Flask application over its memory backend, with two test-only additions
that leave every TAXII answer as medallion gives it:

- its timestamp parser is memoised. The memory backend matches every manifest entry against
  every object and parses the same timestamps again each time (quadratic in the collection:
  about 6 s for the first page of 1,000 objects on a 2-core machine); remembering the results
  of that pure function returns the same pages several times faster;
- a fault switch for the bad-input tests: `POST /_faults` with JSON
  `{"kind": "status" | "garbage" | "media_type" | "slow" | "none", "after": N}` lets N more
  requests of an objects endpoint through, then answers every one with the fault: HTTP 500 with
  a TAXII error message, a 200 whose body is not JSON, a 200 of text/html, or medallion's own
  answer a quarter of a second late (time to kill a client mid-pull).

usage: medallion_server.py CONFIG_JSON PORT
"""

import functools
import json
import sys
import threading
import time

import medallion.common
import medallion.filters.basic_filter
from medallion import application_instance, register_blueprints, set_config

_parse = functools.lru_cache(maxsize=None)(medallion.common.string_to_datetime)
medallion.common.string_to_datetime = _parse
medallion.filters.basic_filter.string_to_datetime = _parse


class Faults:
    """WSGI middleware in front of medallion's application."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.kind = "none"
        self.after = 0

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_faults" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with self.lock:
                self.kind = body.get("kind", "none")
                self.after = int(body.get("after", 0))
            start_response("204 No Content", [])
            return [b""]
        if method == "GET" and path.endswith("/objects/"):
            with self.lock:
                fault = None
                if self.kind != "none":
                    if self.after > 0:
                        self.after -= 1
                    else:
                        fault = self.kind
            if fault == "status":
                body = json.dumps(
                    {"title": "InternalError", "http_status": "500", "description": "injected"}
                ).encode()
                start_response(
                    "500 INTERNAL SERVER ERROR",
                    [("Content-Type", "application/taxii+json;version=2.1")],
                )
                return [body]
            if fault == "garbage":
                start_response("200 OK", [("Content-Type", "application/taxii+json;version=2.1")])
                return [b"\x00\x01 this is not JSON {"]
            if fault == "slow":
                time.sleep(0.25)
            if fault == "media_type":
                start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
                return [b"<html><body>Please log in</body></html>"]
        return self.app(environ, start_response)


def main():
    config_path, port = sys.argv[1], int(sys.argv[2])
    with open(config_path, "r") as f:
        configuration = json.load(f)
    set_config(application_instance, "users", configuration)
    set_config(application_instance, "taxii", configuration)
    set_config(application_instance, "backend", configuration)
    register_blueprints(application_instance)
    application_instance.wsgi_app = Faults(application_instance.wsgi_app)
    application_instance.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
