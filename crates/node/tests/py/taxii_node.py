"""Reads a running Vigil node's TAXII 2.1 server with the OASIS `taxii2-client`.

Usage: taxii_node.py SPEC.json — SPEC names the discovery URL, the collection ids and an
analyst's credentials. Prints one JSON line with what was found; the Rust test checks it.
"""
import json
import sys

from taxii2client.v21 import Collection, Server, as_pages


def main():
    spec = json.load(open(sys.argv[1]))
    out = {}

    # Anonymous: only the collection configured for anonymous read is listed and readable.
    server = Server(spec["discovery"])
    root = server.api_roots[0]
    out["anonymous_collections"] = sorted(c.title for c in root.collections)
    indicators = next(c for c in root.collections if c.id == spec["indicators_id"])
    objects = []
    for envelope in as_pages(indicators.get_objects, per_request=2):
        objects.extend(envelope.get("objects", []))
    ids = sorted(o["id"] for o in objects if o["type"] == "indicator")
    out["indicator_ids"] = ids
    out["typed"] = len(indicators.get_objects(type="indicator").get("objects", []))
    one = indicators.get_object(ids[0])["objects"][0]
    assert one["id"] == ids[0], one
    out["versions"] = len(indicators.object_versions(ids[0])["versions"])
    try:
        Collection(spec["discovery"] + "vigil/collections/" + spec["reports_id"] + "/").get_objects()
        out["anon_reports"] = "allowed"
    except Exception:
        out["anon_reports"] = "refused"

    # The analyst (HTTP Basic) reads every report, opinion and indicator.
    analyst = Server(spec["discovery"], user=spec["user"], password=spec["password"])
    reports = next(c for c in analyst.api_roots[0].collections if c.id == spec["reports_id"])
    everything = []
    for envelope in as_pages(reports.get_objects, per_request=3):
        everything.extend(envelope.get("objects", []))
    out["report_types"] = sorted({o["type"] for o in everything})
    report_objects = [o for o in everything if o["type"] == "report"]
    out["report_ids"] = sorted(o["id"] for o in report_objects)
    out["report_labels"] = sorted({l for o in report_objects for l in o.get("labels", [])})
    out["report_versions"] = len(reports.object_versions(report_objects[0]["id"])["versions"])
    out["opinions"] = sum(1 for o in everything if o["type"] == "opinion")
    # Incremental: nothing was added after the last object's date_added.
    last = reports.get_manifest()["objects"][-1]["date_added"]
    out["after_last"] = len(reports.get_objects(added_after=last).get("objects", []))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
