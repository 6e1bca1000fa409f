"""`make bench` (`python -m bench`): the assistant against Rasa's `rasa init` defaults, side by side.

For each of the two configurations, one after the other so that they never compete for the two
cores: training time from scratch (`rasa train --force` with an empty cache), held-out
understanding and the real-question sets, development and blind halves scored apart
(clinic.tools.evaluation, with more random seeds for the mean), what the sentence encoder costs per
message and in training (bench.encoder_cost), then a Rasa server and an
action server of its own (SQLite tracker store, as endpoints.yml has it) for time to first answer,
REST latency with 1 and with 8 concurrent clients (asyncio + aiohttp, loopback), the servers' CPU
time per message, and resident memory after the load. The server runs alternate (A B, then B A) and the figures are the medians
of the rounds. A per-step profile of a message (in-process, Agent) closes the report.

    python -m bench              everything: ~45 min on 2 cores, of which ~30 min train Rasa's default
                                 pipeline (DIET with a transformer) on our data, three times
    python -m bench --quick      reuse bench/models and their recorded training times, one seed (~7 min)
    python -m bench --no-blind   leave the blind real-question set out (any run while developing:
                                 the blind half is scored once per round, for the final figures)
    python -m bench --profile    only the per-step profile of both models
    python -m bench --candidate other_config.yml   measure a candidate config as the assistant

Latency and throughput depend on whatever else the machine runs (the load average is printed);
CPU per message does much less.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import procs
from bench.load import measure

ROOT = procs.ROOT
BENCH = Path(__file__).resolve().parent
BENCH_MODELS = BENCH / "models"
RESULTS = BENCH / "results"
CURRENT_MODEL = ROOT / "models" / "current.tar.gz"
RASA = str(procs.VENV_BIN / "rasa")
PYTHON = sys.executable

TARGETS = {
    "p50_1_client_ms": 30.0,
    "throughput_ratio_8_clients": 0.8,
    "train_s": 120.0,
    # The issue says 1.3 GB: read strictly, 1.3e9 bytes (1,240 MiB), not 1.3 GiB.
    "rasa_rss_mib": 1.3e9 / 2**20,
    # The held-out set's top-1 before the sentence encoder (README, three seeds).
    "heldout_top1": 0.934,
    # The blind real-question set (issue 13), means over seeds.
    "real_answered_right": 0.88,
    "real_top1": 0.92,
    "real_answered_wrong": 0.03,
    "real_deflected": 0.85,
    # The blind Spanish patient questions (issue 15).
    "spanish_top1": 0.88,
    "spanish_answered_wrong": 0.03,
    "spanish_deflected": 0.85,
}
REAL_SETS = ("real_dev", "real_blind", "spanish_dev", "spanish_blind")
BLIND_SETS = ("real_blind", "spanish_blind")
FIGURES = (
    "top1",
    "answered_right",
    "answered_wrong",
    "deflected",
    "top1_either",
    "answered_right_either",
    "answered_wrong_either",
)


class Subject:
    def __init__(self, key: str, title: str, config: Path, serve_model: Optional[Path] = None):
        self.key, self.title, self.config = key, title, config
        self.bench_model = BENCH_MODELS / f"{key}.tar.gz"
        self.serve_model = serve_model or self.bench_model
        self.figures: Dict[str, Any] = {
            "config": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config)
        }


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def _inputs_digest(config: Path) -> str:
    digest = hashlib.sha256(config.read_bytes())
    digest.update((ROOT / "domain.yml").read_bytes())
    for path in sorted((ROOT / "data").rglob("*.yml")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def train(subject: Subject, quick: bool) -> None:
    record = BENCH_MODELS / f"{subject.key}.train.json"
    digest = _inputs_digest(subject.config)
    if quick and subject.bench_model.exists() and record.exists():
        saved = json.loads(record.read_text())
        subject.figures["train_s"] = saved["train_s"]
        subject.figures["train_note"] = f"recorded {saved['when']}" + (
            "" if saved.get("inputs") == digest else ", inputs changed since"
        )
        log(f"{subject.key}: --quick, training time recorded earlier: {saved['train_s']} s")
        return
    BENCH_MODELS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / f"train-{subject.key}.log"
    log(f"{subject.key}: rasa train --force with an empty cache ({subject.figures['config']}) ...")
    with tempfile.TemporaryDirectory(prefix="bench-rasa-cache-") as cache:
        started = time.monotonic()
        try:
            procs.rasa_train(
                [
                    "--force",
                    "--config",
                    str(subject.config),
                    "--domain",
                    "domain.yml",
                    "--data",
                    "data",
                    "--out",
                    str(BENCH_MODELS),
                    "--fixed-model-name",
                    subject.key,
                ],
                Path(cache),
                log_path,
            )
        except subprocess.CalledProcessError:
            raise SystemExit(f"training {subject.key} failed: see {log_path}") from None
        elapsed = round(time.monotonic() - started, 1)
    subject.figures["train_s"] = elapsed
    subject.figures["train_note"] = "measured in this run"
    record.write_text(
        json.dumps(
            {"train_s": elapsed, "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "inputs": digest}
        )
    )
    log(f"{subject.key}: trained in {elapsed} s")


def _last_json(output: str) -> Any:
    for line in reversed(output.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON result in the output")


def run_module(module: str, *args: str, log_name: str) -> Any:
    completed = subprocess.run(
        [PYTHON, "-m", module, *args], cwd=ROOT, env=procs.server_env(), capture_output=True, text=True
    )
    (RESULTS / log_name).write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise SystemExit(f"{module} failed: see {RESULTS / log_name}")
    return _last_json(completed.stdout)


def understand(subject: Subject, real_sets: List[str]) -> None:
    log(f"{subject.key}: scoring the held-out set and {', '.join(real_sets) or 'no real-question set'} ...")
    figures = run_module("bench.score", str(subject.serve_model), *real_sets, log_name=f"score-{subject.key}.log")
    subject.figures["understanding"] = figures


def encoder_cost(subject: Subject) -> None:
    """The sentence encoder's own cost, when the subject's pipeline has it."""
    if "SentenceEncoderFeaturizer" not in subject.config.read_text():
        return
    log(f"{subject.key}: measuring the sentence encoder alone ...")
    subject.figures["encoder"] = run_module("bench.encoder_cost", log_name=f"encoder-{subject.key}.log")


def _spread(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    import statistics

    return {
        f"{key}_{stat}": round(fn([r[key] for r in runs]), 4)
        for key in FIGURES
        for stat, fn in (("mean", statistics.mean), ("min", min), ("max", max))
    }


def seed_spread(subject: Subject, seeds: List[int], real_sets: List[str]) -> None:
    """Held-out figures of the same config trained with other random seeds (NLU only).

    One seed moves top-1 by a few messages on a 157-message set; the mean over seeds is the figure
    the accuracy target is checked on, for both columns."""
    import yaml

    runs = [subject.figures["understanding"]]
    config = yaml.safe_load(subject.config.read_text())
    for seed in seeds:
        for component in config["pipeline"]:
            if component["name"] in ("DIETClassifier", "ResponseSelector"):
                component["random_seed"] = seed
        with tempfile.TemporaryDirectory(prefix="bench-seed-") as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
            log(f"{subject.key}: NLU with random seed {seed} ...")
            procs.rasa_train(
                [
                    "nlu",
                    "--config",
                    str(tmp_path / "config.yml"),
                    "--nlu",
                    "data/nlu",
                    "--domain",
                    "domain.yml",
                    "--out",
                    tmp,
                    "--fixed-model-name",
                    "seed",
                ],
                tmp_path / "cache",
                RESULTS / f"train-{subject.key}-seed-{seed}.log",
            )
            runs.append(
                run_module(
                    "bench.score",
                    str(tmp_path / "seed.tar.gz"),
                    *real_sets,
                    log_name=f"score-{subject.key}-seed-{seed}.log",
                )
            )
    subject.figures["understanding_seeds"] = {"seeds": len(runs), **_spread(runs)}
    for name in real_sets:
        if all(name in r for r in runs):
            subject.figures["understanding_seeds"][name] = _spread([r[name] for r in runs])


def _load_phase(
    base: str,
    rasa_pid: int,
    action_pid: int,
    clients: int,
    messages: int,
    warmup: int,
    args: argparse.Namespace,
    tag: str,
) -> Dict[str, Any]:
    """One load phase, with the CPU time the servers spent on it: CPU per message is what the
    servers cost whatever else runs on the machine, unlike latency (warm-up messages included)."""
    rasa_cpu, action_cpu = procs.cpu_seconds(rasa_pid), procs.cpu_seconds(action_pid)
    load_before = os.getloadavg()[0]
    figures = measure(base, clients, messages, warmup_per_client=warmup, time_limit_s=args.time_limit, tag=tag)
    handled = figures["messages"] + figures["errors"] + clients * warmup
    figures["rasa_cpu_ms_per_msg"] = round((procs.cpu_seconds(rasa_pid) - rasa_cpu) * 1000 / handled, 1)
    figures["action_cpu_ms_per_msg"] = round((procs.cpu_seconds(action_pid) - action_cpu) * 1000 / handled, 1)
    figures["load_average"] = round((load_before + os.getloadavg()[0]) / 2, 2)
    return figures


def serve(subject: Subject, args: argparse.Namespace, round_no: int) -> Dict[str, Any]:
    """Starts the subject's action server and Rasa server, measures them, stops them."""
    figures: Dict[str, Any] = {}
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{subject.key}-"))
    env = procs.server_env({"CLINIC_DATABASE_URL": f"sqlite:///{workdir / 'handoffs.db'}"})
    action_port, rasa_port = procs.free_port(), procs.free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints_config: Dict[str, Any] = {"action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"}}
    if args.tracker == "sqlite":
        endpoints_config["tracker_store"] = {"type": "SQL", "dialect": "sqlite", "db": str(workdir / "trackers.db")}
    endpoints.write_text(json.dumps(endpoints_config))
    action_server = rasa = None
    try:
        action_server = procs.start(
            [RASA, "run", "actions", "--port", str(action_port), "--actions", "actions"],
            RESULTS / f"action-server-{subject.key}.log",
            env,
        )
        figures["action_server_ready_s"] = round(
            procs.wait_for_http(f"http://127.0.0.1:{action_port}/health", process=action_server), 1
        )
        log(f"{subject.key} (round {round_no + 1}): starting Rasa with {subject.serve_model.relative_to(ROOT)} ...")
        started = time.monotonic()
        rasa = procs.start(
            [
                RASA,
                "run",
                "--model",
                str(subject.serve_model),
                "--port",
                str(rasa_port),
                "--interface",
                "127.0.0.1",
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
                # the tracker endpoint, which the conversation scoring reads after the load phases
                "--enable-api",
            ],
            RESULTS / f"rasa-{subject.key}.log",
            env,
        )
        base = f"http://127.0.0.1:{rasa_port}"
        figures["first_answer_s"] = round(procs.wait_for_first_answer(base, started, rasa), 1)
        figures["rasa_rss_idle"] = procs.memory_mib(rasa.pid)
        figures["load_1"] = _load_phase(
            base, rasa.pid, action_server.pid, 1, args.messages_1, 10, args, f"bench-{subject.key}-1"
        )
        log(f"{subject.key}: 1 client {figures['load_1']}")
        figures["load_n"] = _load_phase(
            base, rasa.pid, action_server.pid, args.clients, args.messages_n, 3, args, f"bench-{subject.key}-n"
        )
        log(f"{subject.key}: {args.clients} clients {figures['load_n']}")
        figures["rasa_memory"] = procs.memory_mib(rasa.pid)
        figures["action_server_memory"] = procs.memory_mib(action_server.pid)
        if subject.key == "assistant" and round_no == 0:
            # Whole conversations (issue 14): call-backs and follow-ups, after the memory is read.
            from clinic.tools.conversations import RestPlayer, run_all
            from clinic.tools.conversations import figures as conversation_figures

            figures["conversations"] = conversation_figures(run_all(RestPlayer(base, prefix="bench")))
            log(f"{subject.key}: conversations {figures['conversations']}")
    finally:
        procs.stop(rasa)
        procs.stop(action_server)
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def combine_rounds(rounds: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Medians of the rounds' latency, throughput and CPU figures; the largest memory seen."""
    import statistics

    combined: Dict[str, Any] = {"first_answer_s": statistics.median(r["first_answer_s"] for r in rounds)}
    for phase in ("load_1", "load_n"):
        keys = rounds[0][phase].keys()
        combined[phase] = {
            k: (
                round(statistics.median(r[phase][k] for r in rounds), 2)
                if k not in ("errors", "empty_replies", "messages", "clients")
                else sum(r[phase][k] for r in rounds)
                if k != "clients"
                else rounds[0][phase][k]
            )
            for k in keys
        }
    for memory in ("rasa_memory", "action_server_memory"):
        combined[memory] = max((r[memory] for r in rounds), key=lambda m: m["rss_mib"])
    for r in rounds:
        if "conversations" in r:
            combined["conversations"] = r["conversations"]
    return combined


def profile(subject: Subject, messages: int) -> Dict[str, Any]:
    log(f"{subject.key}: profiling {messages} messages in-process ...")
    return run_module(
        "bench.message_profile", str(subject.serve_model), str(messages), log_name=f"profile-{subject.key}.log"
    )


# ----------------------------------------------------------------------------------------------
def _get(figures: Dict[str, Any], path: str) -> Any:
    value: Any = figures
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1 else f"{value:,.1f}"
    else:
        text = str(value)
    return text + unit


def _seed_range(figures: Dict[str, Any]) -> str:
    if not _get(figures, "understanding_seeds"):
        return "-"
    return (
        f"{_fmt(_get(figures, 'understanding_seeds.top1_min'))} / {_fmt(_get(figures, 'understanding_seeds.top1_max'))}"
    )


def _real(name: str, key: str):
    """A real-question figure: mean over seeds with the lowest-highest range, or the one run's."""

    def cell(figures: Dict[str, Any]) -> str:
        seeds = _get(figures, f"understanding_seeds.{name}")
        if seeds:
            return f"{_fmt(seeds[f'{key}_mean'])} ({_fmt(seeds[f'{key}_min'])}-{_fmt(seeds[f'{key}_max'])})"
        return _fmt(_get(figures, f"understanding.{name}.{key}"))

    return cell


def _real_rows() -> List[Any]:
    rows = []
    for name, title in (
        ("real_dev", "real questions, dev half"),
        ("real_blind", "real questions, BLIND half"),
        ("spanish_dev", "Spanish questions, dev half"),
        ("spanish_blind", "Spanish questions, BLIND half"),
    ):
        rows += [
            (f"{title}: answered right", _real(name, "answered_right"), ""),
            (f"{title}: right or first offered", _real(name, "top1"), ""),
            (f"{title}: answered wrong", _real(name, "answered_wrong"), ""),
            (f"{title}: out of scope deflected", _real(name, "deflected"), ""),
            (f"{title}: answered right, either annotator", _real(name, "answered_right_either"), ""),
            (f"{title}: right or first offered, either annotator", _real(name, "top1_either"), ""),
            (f"{title}: answered wrong, either annotator", _real(name, "answered_wrong_either"), ""),
        ]
    return rows


def _failures(figures: Dict[str, Any]) -> str:
    """Errors / empty replies over both load phases."""

    def total(key: str) -> int:
        return sum(_get(figures, f"{phase}.{key}") or 0 for phase in ("load_1", "load_n"))

    return f"{total('errors')} / {total('empty_replies')}"


def print_table(subjects: List[Subject], clients: int) -> List[str]:
    # (title, a dotted path into a subject's figures or a function of them, unit)
    rows: List[Tuple[str, Any, str]] = [
        ("understanding: top-1 topic accuracy", "understanding.top1", ""),
        ("understanding: answered right (no question back)", "understanding.answered_right", ""),
        ("understanding: answered wrong (confident)", "understanding.answered_wrong", ""),
        ("understanding: unanswerable deflected", "understanding.deflected", ""),
        ("top-1, mean over seeds", "understanding_seeds.top1_mean", ""),
        ("top-1, lowest / highest seed", _seed_range, ""),
        ("answered wrong, mean over seeds", "understanding_seeds.answered_wrong_mean", ""),
        ("deflected, mean over seeds", "understanding_seeds.deflected_mean", ""),
        *_real_rows(),
        ("sentence encoder, ms per message (alone, p50)", "encoder.ms_per_msg_p50", " ms"),
        ("sentence encoder, CPU per message (alone)", "encoder.cpu_ms_per_msg", " ms"),
        ("sentence encoder, in the served pipeline", "profile_encoder_ms", " ms"),
        ("sentence encoder, training examples embedded", "encoder.train_s", " s"),
        ("sentence encoder, model load", "encoder.load_s", " s"),
        ("conversations: call-backs right (target 0.95)", "conversations.callbacks.rate", ""),
        ("conversations: follow-ups resolved (target 0.9)", "conversations.followups.rate", ""),
        ("REST p50, 1 client", "load_1.p50_ms", " ms"),
        ("REST p95, 1 client", "load_1.p95_ms", " ms"),
        ("msgs/s, 1 client", "load_1.msgs_per_s", ""),
        (f"REST p50, {clients} clients", "load_n.p50_ms", " ms"),
        (f"REST p95, {clients} clients", "load_n.p95_ms", " ms"),
        (f"msgs/s, {clients} clients", "load_n.msgs_per_s", ""),
        ("Rasa server CPU per message, 1 client", "load_1.rasa_cpu_ms_per_msg", " ms"),
        (f"Rasa server CPU per message, {clients} clients", "load_n.rasa_cpu_ms_per_msg", " ms"),
        ("action server CPU per message", "load_n.action_cpu_ms_per_msg", " ms"),
        ("machine load average during the loads", "load_n.load_average", ""),
        ("errors / empty replies (all loads)", _failures, ""),
        ("training from scratch (rasa train --force)", "train_s", " s"),
        ("start to first answer", "first_answer_s", " s"),
        ("Rasa server RSS after load", "rasa_memory.rss_mib", " MiB"),
        ("Rasa server peak RSS (VmHWM)", "rasa_memory.peak_rss_mib", " MiB"),
        ("action server RSS after load", "action_server_memory.rss_mib", " MiB"),
    ]
    width = 50
    lines = [f"{'':<{width}} " + " ".join(f"{s.title:>22}" for s in subjects)]
    for title, cell, unit in rows:
        cells = [cell(s.figures) if callable(cell) else _fmt(_get(s.figures, cell), unit) for s in subjects]
        lines.append(f"{title:<{width}} " + " ".join(f"{c:>22}" for c in cells))
    notes = [f"{s.title}: training time {s.figures.get('train_note')}" for s in subjects if s.figures.get("train_note")]
    return lines + [""] + notes


def check_targets(assistant: Subject, default: Subject) -> List[Dict[str, Any]]:
    a, d = assistant.figures, default.figures
    ratio = None
    if _get(a, "load_n.msgs_per_s") and _get(d, "load_n.msgs_per_s"):
        ratio = round(a["load_n"]["msgs_per_s"] / d["load_n"]["msgs_per_s"], 2)
    seeds = _get(a, "understanding_seeds.seeds") or 1

    def real(key: str, name: str = "real_blind") -> Any:
        mean = _get(a, f"understanding_seeds.{name}.{key}_mean")
        return mean if mean is not None else _get(a, f"understanding.{name}.{key}")

    checks = [
        ("single-client p50 <= 30 ms", _get(a, "load_1.p50_ms"), lambda v: v <= TARGETS["p50_1_client_ms"]),
        ("8-client throughput >= 0.8x default", ratio, lambda v: v >= TARGETS["throughput_ratio_8_clients"]),
        ("training from scratch <= 120 s", _get(a, "train_s"), lambda v: v <= TARGETS["train_s"]),
        (
            "Rasa server RSS <= 1.3 GB (1,240 MiB)",
            _get(a, "rasa_memory.rss_mib"),
            lambda v: v <= TARGETS["rasa_rss_mib"],
        ),
        (
            f"held-out top-1 (mean over {seeds} seeds) >= 0.934",
            _get(a, "understanding_seeds.top1_mean") or _get(a, "understanding.top1"),
            lambda v: v >= TARGETS["heldout_top1"],
        ),
        (
            f"blind real questions answered right (mean over {seeds} seeds) >= 0.88",
            real("answered_right"),
            lambda v: v >= TARGETS["real_answered_right"],
        ),
        ("blind real questions right or first offered >= 0.92", real("top1"), lambda v: v >= TARGETS["real_top1"]),
        (
            "blind real questions answered wrong <= 0.03",
            real("answered_wrong"),
            lambda v: v <= TARGETS["real_answered_wrong"],
        ),
        (
            "blind real questions out of scope deflected >= 0.85",
            real("deflected"),
            lambda v: v >= TARGETS["real_deflected"],
        ),
        (
            "blind Spanish questions right or first offered >= 0.88",
            real("top1", "spanish_blind"),
            lambda v: v >= TARGETS["spanish_top1"],
        ),
        (
            "blind Spanish questions answered wrong <= 0.03",
            real("answered_wrong", "spanish_blind"),
            lambda v: v <= TARGETS["spanish_answered_wrong"],
        ),
        (
            "blind Spanish questions out of scope deflected >= 0.85",
            real("deflected", "spanish_blind"),
            lambda v: v >= TARGETS["spanish_deflected"],
        ),
    ]
    return [
        {"target": name, "value": value, "met": (value is not None and bool(test(value)))}
        for name, value, test in checks
    ]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="reuse bench models and recorded training times when present"
    )
    parser.add_argument("--profile", action="store_true", help="only profile where a message's time goes")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile in a full run")
    parser.add_argument(
        "--no-blind",
        action="store_true",
        help="leave the blind real-question set out (every run but the round's final one)",
    )
    parser.add_argument(
        "--candidate", type=Path, help="measure this config as the assistant (trained into bench/models)"
    )
    parser.add_argument("--only", choices=["assistant", "default"], help="measure one column only")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="*",
        help="more random seeds to score the assistant's NLU with, about 1 min each (default 1 3; none with --quick)",
    )
    parser.add_argument(
        "--default-seeds",
        type=int,
        nargs="*",
        help="more random seeds for the default pipeline's NLU, about 10 min each (default 1 3; none with --quick)",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--messages-1", type=int, default=150, help="measured messages with 1 client")
    parser.add_argument("--messages-n", type=int, default=60, help="measured messages per client with --clients")
    parser.add_argument("--profile-messages", type=int, default=120)
    parser.add_argument(
        "--rounds", type=int, default=2, help="server runs per configuration, alternating; figures are their medians"
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per load phase at most")
    parser.add_argument(
        "--tracker",
        choices=["sqlite", "memory"],
        default="sqlite",
        help="tracker store of the servers: SQLite as endpoints.yml has it, or in memory",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    RESULTS.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()

    if args.candidate:
        candidate = args.candidate.resolve()
        assistant = Subject(f"candidate-{candidate.stem}", "candidate", candidate)
    else:
        assistant = Subject("assistant", "assistant", ROOT / "config.yml", serve_model=CURRENT_MODEL)
    default = Subject("rasa-init", "rasa-init default", BENCH / "rasa_init_config.yml")
    subjects = [s for s in (assistant, default) if not args.only or (args.only == "assistant") == (s is assistant)]

    if assistant in subjects and not args.candidate:
        # `make bench` trains first; run directly, the served model may be missing or stale.
        stale = (
            subprocess.run(
                ["make", "-q", "models/current.tar.gz"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ).returncode
            != 0
        )
        if stale or not CURRENT_MODEL.exists():
            log(
                "models/current.tar.gz is missing or older than its inputs: make train "
                f"(log: {(RESULTS / 'make-train.log').relative_to(ROOT)}) ..."
            )
            with open(RESULTS / "make-train.log", "w") as out:
                subprocess.run(["make", "train"], cwd=ROOT, check=True, stdout=out, stderr=subprocess.STDOUT)

    if args.profile:
        for subject in subjects:
            if not subject.serve_model.exists():
                train(subject, quick=True)
            result = profile(subject, args.profile_messages)
            from bench.message_profile import format_table

            print(
                format_table(result["rows"], f"\n{subject.title}: per message, {result['messages']} held-out messages")
            )
        return 0

    for subject in subjects:
        # The scratch training measures the configuration; the assistant is served from
        # models/current.tar.gz (`make train`), trained from the same files.
        train(subject, args.quick)
    real_sets = [name for name in REAL_SETS if not (args.no_blind and name in BLIND_SETS)]
    for subject in subjects:
        understand(subject, real_sets)
        encoder_cost(subject)
    for subject, seeds in ((assistant, args.seeds), (default, args.default_seeds)):
        if seeds is None:
            seeds = [] if args.quick else [1, 3]
        if subject in subjects and seeds:
            seed_spread(subject, seeds, real_sets)
    rounds: Dict[str, List[Dict[str, Any]]] = {s.key: [] for s in subjects}
    for round_no in range(args.rounds):
        # A B, then B A: drift in what else the machine is doing weighs on both alike.
        for subject in subjects if round_no % 2 == 0 else list(reversed(subjects)):
            rounds[subject.key].append(serve(subject, args, round_no))
    for subject in subjects:
        subject.figures.update(combine_rounds(rounds[subject.key]))
        subject.figures["rounds"] = rounds[subject.key]
    profiles = {}
    if not args.no_profile:
        for subject in subjects:
            profiles[subject.key] = profile(subject, args.profile_messages)
            encoder_rows = [r for r in profiles[subject.key]["rows"] if "SentenceEncoderFeaturizer" in r["name"]]
            if encoder_rows:
                subject.figures["profile_encoder_ms"] = round(sum(r["ms_per_msg"] for r in encoder_rows), 2)

    print()
    print(
        f"Benchmark {datetime.now().isoformat(timespec='seconds')} on {os.cpu_count()} cores, "
        f"Rasa {_rasa_version()}, REST over loopback, {args.tracker} tracker store, action server on; "
        f"1-min load average {os.getloadavg()[0]:.2f} (other work on the machine skews the figures)"
    )
    lines = print_table(subjects, args.clients)
    print("\n".join(lines))
    targets = check_targets(assistant, default) if len(subjects) == 2 else []
    if targets:
        print("\nTargets (assistant):")
        for t in targets:
            print(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {_fmt(t['value'])}")
    if profiles:
        from bench.message_profile import format_table

        for subject in subjects:
            result = profiles[subject.key]
            print(
                format_table(
                    result["rows"],
                    f"\n{subject.title}: where a message's time goes "
                    f"(in-process, {result['messages']} held-out messages)",
                )
            )
    report = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "rasa": _rasa_version()},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "subjects": {s.key: {"title": s.title, "model": str(s.serve_model), **s.figures} for s in subjects},
        "targets": targets,
        "profiles": profiles,
        "runtime_s": round(time.monotonic() - began, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        f"\nResults: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} "
        f"(bench took {report['runtime_s']} s)"
    )
    return 0


def _rasa_version() -> str:
    try:
        from importlib.metadata import version

        return version("rasa")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
