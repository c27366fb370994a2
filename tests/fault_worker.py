"""A client that works a city's cases and ledger to the end, one idempotent step at a time, so a
test can SIGKILL it anywhere and start it again (``python tests/fault_worker.py WORKSPACE DB_URL``).

Steps: seed credits for three districts, then, interleaved, every case's main course (each move
only from the state it starts from) and 60 transfers between districts (each by its own id)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from landrenew import ledger  # noqa: E402
from landrenew.cases import StaleCase, get_case, list_cases, transition  # noqa: E402
from landrenew.policy import load_profile  # noqa: E402
from landrenew.store import Workspace  # noqa: E402
from test_cases import ADMIN, DAY, officer_of, values_for  # noqa: E402

OWNERS = ["320412", "320411", "320413", "city"]


def jobs(profile, cases) -> list[tuple]:
    rng = random.Random(5)
    out: list[tuple] = [("seed", i, owner) for i, owner in enumerate(OWNERS[:3])]
    moves = [("move", no, step) for no, f, p in zip(cases["case_no"], cases["family"], cases["path"], strict=True)
             for step in profile.operations.workflow_for(f, p).params.main_path()]
    transfers = [("transfer", ledger.TransferRequest(f"kill-{i:03d}", "linkage", *rng.sample(OWNERS, 2),
                                                     round(rng.uniform(1, 20), 2), "transfer", DAY, "调剂"))
                 for i in range(60)]
    mixed = moves + transfers
    rng.shuffle(mixed)  # a move whose case is not yet in its state waits for a later round
    return out + mixed


def run(ws: Workspace, profile, attachment: Path) -> None:
    cases = list_cases(ws.engine, profile, ADMIN)
    pending = jobs(profile, cases)
    while pending:
        later = []
        for job in pending:
            kind = job[0]
            if kind == "seed":
                with ws.engine.begin() as conn:
                    ledger.credit(conn, transfer_id=f"kill-seed-{job[1]}", kind="linkage", to_owner=job[2],
                                  amount=300.0, reason="期初", actor=ADMIN, profile=profile, value_date=DAY)
            elif kind == "transfer":
                try:
                    with ws.engine.begin() as conn:
                        ledger.post(conn, job[1], profile, ADMIN)
                except ledger.LedgerError:
                    pass  # refused (e.g. not enough quota): refused again on a rerun, alike
            else:
                _, no, step = job
                c = get_case(ws.engine, profile, ADMIN, no)
                if c["state"] == step.from_state:
                    who = ADMIN if "city_admin" in step.roles else officer_of(no)
                    try:
                        transition(ws, profile, who, no, step.to_state, c["version"], when=DAY, comment="办理",
                                   values=values_for(profile, step, 9.5), attachment=attachment)
                    except StaleCase:
                        later.append(job)
                elif _before(profile, c, step):
                    later.append(job)  # its case has not reached this step's state yet
        pending = later


def _before(profile, case: dict, step) -> bool:
    """The case is still before ``step`` on its course."""
    course = profile.operations.workflow_for(case["family"], case["path"]).params.main_path()
    states = [course[0].from_state] + [t.to_state for t in course]
    return states.index(case["state"]) < states.index(step.from_state)


if __name__ == "__main__":
    folder, url = sys.argv[1], sys.argv[2]
    proof = Path(folder) / "proof.pdf"
    if not proof.exists():
        proof.write_bytes(b"%PDF-1.4 proof")
    ws, profile = Workspace.open(folder, url), load_profile("changzhou-2022")
    print("ready", flush=True)  # imports done: the test kills from here on
    run(ws, profile, proof)
    print("finished")
