"""carve's run directories as Python objects.

    run = carve.load_run("runs/quickstart/contractive.weight=0.05")
    run.config["model"]["hidden"]          # the resolved experiment (config.yaml), a dict
    run.metrics["valid_reconstruction"]    # metrics.csv by column: lists of floats, one per epoch
    run.summary["best_epoch"]              # summary.json, a dict
    codes = run.encoder(x)                 # encoder.pt, a TorchScript module
    runs = carve.load_runs("runs/quickstart")  # a sweep's or suite's runs, by task directory
"""
import csv
import json
import math
import os

import torch


def _number(text):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)  # also "nan", "inf"
    except ValueError:
        return text


def _read_csv(path):
    """A CSV with a header row, as {column: [values]}; lines starting with # are comments."""
    with open(path, newline="") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{number}: {len(row)} fields, the header has {len(header)}")
    return {name: [_number(row[i]) for row in body] for i, name in enumerate(header)}


class Run:
    """One run directory of carve (a single run, or a stack: its layers' encoder as one)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.config = self._yaml("config.yaml")
        self.metrics = _read_csv(self._file("metrics.csv")) if self._has("metrics.csv") else {}
        # A run that has not finished has no summary.json, encoder.pt or classifier.pt yet.
        self.summary = self._json("summary.json") if self._has("summary.json") else None
        self.finetune = _read_csv(self._file("finetune.csv")) if self._has("finetune.csv") else None
        self.encoder = torch.jit.load(self._file("encoder.pt")) if self._has("encoder.pt") else None
        self.classifier = (torch.jit.load(self._file("classifier.pt"))
                           if self._has("classifier.pt") else None)

    @property
    def finished(self):
        return self.summary is not None

    @property
    def name(self):
        return os.path.basename(self.path)

    def _file(self, name):
        return os.path.join(self.path, name)

    def _has(self, name):
        return os.path.isfile(self._file(name))

    def _yaml(self, name):
        import yaml  # only here: the operators need no YAML (Debian: python3-yaml)

        with open(self._file(name)) as f:
            return yaml.safe_load(f)

    def _json(self, name):
        with open(self._file(name)) as f:
            return json.load(f)

    def __repr__(self):
        state = "finished" if self.finished else "not finished"
        return f"carve.Run({self.path!r}, {state}, {len(self.metrics.get('epoch', []))} epochs)"


def load_run(path):
    """The run in directory `path` (what `carve run` wrote). A directory of several runs (a sweep
    or a suite, with plan.json) is refused: load_runs reads those."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: no such run directory")
    if not os.path.isfile(os.path.join(path, "config.yaml")):
        if os.path.isfile(os.path.join(path, "plan.json")):
            raise ValueError(f"{path} holds several runs (plan.json): carve.load_runs({path!r}) reads them")
        raise ValueError(f"{path} is not a carve run directory (no config.yaml)")
    return Run(path)


def load_runs(path):
    """The runs of a sweep's or suite's directory, {task directory: Run}, in the plan's order;
    tasks whose directory does not exist yet are left out."""
    plan_file = os.path.join(path, "plan.json")
    if not os.path.isfile(plan_file):
        raise ValueError(f"{path} has no plan.json: not a sweep's or suite's directory (load_run reads one run)")
    with open(plan_file) as f:
        plan = json.load(f)
    runs = {}
    for task in plan.get("tasks", []):
        directory = os.path.join(path, task["directory"])
        if os.path.isfile(os.path.join(directory, "config.yaml")):
            runs[task["directory"]] = Run(directory)
    return runs
