"""Validates STIX 2.1 files with the OASIS stix2-validator, warnings counted as errors.

Usage: validate_stix.py FILE...

Three best-practice checks are disabled on purpose:
  103 uuid-check: Vigil's ids are UUIDv5 derived from content (the same indicator always has the
      same id); the STIX spec allows this ("SHOULD use UUIDv4"), the check warns about it.
  302 extref-hashes: evidence URLs of reports point at live pages (post-mortems, explorers)
      that have no fixed hash.
  245 indicator-pattern-types: shared fingerprints and rule files are indicators of Vigil's own
      pattern types (vigil-fingerprint, vigil-cel, documented in its extension); the
      indicator-pattern-ov vocabulary is open and permits them, the check warns about it.
Exit status 0 when every file is valid, 1 otherwise.
"""
import sys

from stix2validator import ValidationOptions, print_results, validate_file


def main(paths):
    options = ValidationOptions(version="2.1", strict=True, disabled=["103", "245", "302"])
    ok = True
    for path in paths:
        results = validate_file(path, options)
        print_results(results)
        print(f"{path}: {'valid' if results.is_valid else 'INVALID'}")
        ok = ok and results.is_valid
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
