"""Drives Vigil's TAXII 2.1 server with the real Python taxii2-client (OASIS).

Usage: taxii_interop.py SPEC_JSON
SPEC_JSON holds: discovery URL, reader user/password, writer token, the expected object count
of the reports collection, an added_after timestamp and the count after it, one object id with
its expected version count, and an envelope to post to the inbox.
Prints one JSON line of findings; exits non-zero on the first failed expectation.
"""
import json
import sys

from taxii2client.common import TokenAuth
from taxii2client.v21 import ApiRoot, Server, as_pages


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main(spec):
    found = {}
    server = Server(spec["discovery"], user=spec["reader"], password=spec["reader_password"])
    check(server.title == "Vigil TAXII server", f"title {server.title!r}")
    roots = server.api_roots
    check(len(roots) == 1, f"api roots {roots}")
    root = roots[0]
    aliases = sorted(c.custom_properties.get("alias", c._raw.get("alias", "")) or "" for c in root.collections)
    found["collections"] = aliases
    # The inbox is listed only for writers: a reader may not see what waits for review.
    check(aliases == ["alerts", "indicators", "reports"], f"collections {aliases}")
    reports = next(c for c in root.collections if c.id == spec["reports_id"])
    check(reports.can_read and not reports.can_write, "reports: read-only for the reader")

    # Page through everything with as_pages.
    ids = []
    pages = 0
    for envelope in as_pages(reports.get_objects, per_request=spec["per_request"]):
        pages += 1
        ids.extend(o["id"] for o in envelope.get("objects", []))
    found["paged"] = len(ids)
    found["pages"] = pages
    check(len(ids) == spec["expected_total"], f"paged {len(ids)} objects, expected {spec['expected_total']}")
    check(len(set(ids)) == len(ids), "an object came twice")
    check(pages == -(-spec["expected_total"] // spec["per_request"]), f"{pages} pages")

    # Filter by type and by added_after.
    only = reports.get_objects(type="report")
    types = {o["type"] for o in only.get("objects", [])}
    check(types == {"report"}, f"type filter gave {types}")
    later = reports.get_objects(added_after=spec["added_after"])
    found["added_after"] = len(later.get("objects", []))
    check(found["added_after"] == spec["expected_after"], f"added_after gave {found['added_after']}")

    # One object and its versions.
    one = reports.get_object(spec["versioned_id"])
    check(len(one["objects"]) == 1 and one["objects"][0]["id"] == spec["versioned_id"], "get_object")
    versions = reports.object_versions(spec["versioned_id"])
    found["versions"] = len(versions["versions"])
    check(found["versions"] == spec["expected_versions"], f"versions {versions}")
    every = reports.get_object(spec["versioned_id"], version="all")
    check(len(every["objects"]) == spec["expected_versions"], "version=all")
    manifest = reports.get_manifest(limit=5)
    check(len(manifest["objects"]) == 5 and manifest["more"], "manifest page")

    # Add objects as the writer (bearer token) and poll their status.
    writer_root = ApiRoot(root.url, auth=TokenAuth(spec["writer_token"]))
    inbox = next(c for c in writer_root.collections if c.id == spec["inbox_id"])
    check(inbox.can_write, "inbox writable by the writer")
    status = inbox.add_objects(spec["envelope"], wait_for_completion=True, poll_interval=0.1, timeout=10)
    check(status.status == "complete", f"status {status.status}")
    check(status.success_count == len(spec["envelope"]["objects"]), f"successes {status.success_count}")
    polled = writer_root.get_status(status.id)
    check(polled.id == status.id and polled.success_count == status.success_count, "polled status")
    found["posted"] = status.success_count
    print(json.dumps(found))


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        main(json.load(f))
