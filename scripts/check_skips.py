#!/usr/bin/env python3
"""Fails when ctest's JUnit report has a skipped test that is not listed in
tests/allowed-skips.txt (a SetUpTestSuite failure shows up as skips)."""
import sys
import xml.etree.ElementTree as ET

report, allowed_file = sys.argv[1], sys.argv[2]
allowed = set()
for line in open(allowed_file, encoding="utf-8"):
    name = line.split("#", 1)[0].strip()
    if name:
        allowed.add(name)
skipped = []
for case in ET.parse(report).getroot().iter("testcase"):
    status = case.get("status", "")
    if case.find("skipped") is not None or status in ("notrun", "disabled"):
        skipped.append(case.get("name"))
bad = [n for n in skipped if n not in allowed]
for n in bad:
    print(f"check_skips: {n} was skipped and is not in {allowed_file}", file=sys.stderr)
if bad:
    sys.exit(1)
print(f"check_skips: {len(skipped)} skipped, all allowed")
