"""The figures of a lost database host (the `roles` scenario's two parts): the
rows a client committed (ticks.log: each id with the time the client returned, i.e. after the
commit), the rows that came back and the time of the loss (disaster.json)."""

import json


def recovered_rows(ephemeral, promised):
    """Check that every row committed `promised` seconds or more before the loss came back (the
    recovery point the backups promise), and nothing that was never committed; return the record,
    the committed rows and the recovery point (seconds)."""
    record = json.loads((ephemeral / "disaster.json").read_text())
    committed = {}
    for line in (ephemeral / "ticks.log").read_text().splitlines():
        fields = line.split()
        if len(fields) == 2:
            committed[int(fields[0])] = float(fields[1])
    back, lost = set(record["ids"]), record["lost_at"]
    old = [row for row, at in committed.items() if at <= lost - promised]
    assert len(old) >= 50, f"the writer ran too short a time before the loss: {len(old)} rows older than {promised} s"
    assert not [row for row in old if row not in back], f"rows committed {promised} s before the loss did not come back"
    assert back <= set(committed), "rows came back that were never committed"
    return record, committed, lost - max(committed[row] for row in back)
