"""Runtime prediction: loader validation, conformal coverage, recovery of a planted structure, the CLI."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from edge_sdk.errors import EdgeSdkError
from edge_sdk.runtime_prediction import conformal, data
from edge_sdk.runtime_prediction.estimator import RuntimePredictor, design_matrix
from edge_sdk.runtime_prediction.experiment import metrics


def planted(seed=0, n_w=40, n_p=25, rank=3, noise=0.05):
    """A dataset with known structure: log t = a_w + b_p + <u_w, v_p> (+ s_wp * m_kp when workload k runs
    beside), with bilinear susceptibility s_wp = 0.5 + 0.3 <u_w, z_p> and magnitude m_kp = (1 + 0.5 u_k0) h_p;
    the side features are noisy views of the latent factors."""
    rng = np.random.default_rng(seed)
    u, v, z = rng.normal(size=(n_w, rank)), rng.normal(size=(n_p, rank)), rng.normal(size=(n_p, rank))
    a, b, h = rng.normal(10, 1, n_w), rng.normal(0, 0.5, n_p), rng.uniform(0.5, 1.5, n_p)
    sus, gen = 0.5 + 0.3 * u @ z.T, 1 + 0.5 * u[:, 0]
    d_w = np.concatenate([u, a[:, None]], 1) + rng.normal(0, 0.05, (n_w, rank + 1))
    d_p = np.concatenate([v, b[:, None]], 1) + rng.normal(0, 0.05, (n_p, rank + 1))
    pairs = np.array([(w, p) for w in range(n_w) for p in range(n_p)])
    solo_logt = a[pairs[:, 0]] + b[pairs[:, 1]] + (u[pairs[:, 0]] * v[pairs[:, 1]]).sum(1)
    other = rng.integers(0, n_w, len(pairs))
    inter_logt = solo_logt + sus[pairs[:, 0], pairs[:, 1]] * gen[other] * h[pairs[:, 1]]
    tables = {"d_platform": d_p.astype(np.float32), "d_workload": d_w.astype(np.float32),
              "n_platform": np.array([f"rt:host{i}" for i in range(n_p)]),
              "n_workload": np.array([f"suite/w{i}" for i in range(n_w)])}
    solo = {"t": np.exp(solo_logt + rng.normal(0, noise, len(pairs))), "i_workload": pairs[:, 0],
            "i_platform": pairs[:, 1], **tables}
    inter = {"t": np.exp(inter_logt + rng.normal(0, noise, len(pairs))), "i_workload": pairs[:, 0],
             "i_platform": pairs[:, 1], "i_interference0": other}
    return solo, inter


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("planted")
    solo, inter = planted()
    np.savez(d / "data.npz", **solo)
    np.savez(d / "if2.npz", **inter)
    return d


# ------------------------------------------------------------------ loader


def _bad(tmp_path, **changes):
    solo, _ = planted()
    solo.update(changes)
    for k, v in list(solo.items()):
        if v is None:
            del solo[k]
    np.savez(tmp_path / "bad.npz", **solo)
    return tmp_path / "bad.npz"


@pytest.mark.parametrize("changes, message", [
    ({"t": None}, "lacks the array"),
    ({"i_platform": np.full(1000, 99)}, "i_platform must lie in 0..24"),
    ({"i_workload": np.arange(1000) - 1}, "i_workload must lie in 0..39"),
    ({"t": -np.ones(1000)}, "must be positive and finite"),
    ({"i_platform": np.zeros(3, dtype=int)}, "has shape (3,)"),
    ({"d_workload": None}, "lacks d_workload"),
])
def test_loader_rejects_bad_input(tmp_path, changes, message):
    with pytest.raises(EdgeSdkError, match=message.replace("(", r"\(").replace(")", r"\)")):
        data.load(_bad(tmp_path, **changes))


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:4000]), "is not a readable npz file .*damaged or truncated"),
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "is not a readable npz file"),
])
def test_loader_rejects_damaged_files(tmp_path, damage, message):
    path = _bad(tmp_path)
    damage(path)
    with pytest.raises(EdgeSdkError, match=f"'{re.escape(str(path))}' {message}"):
        data.load(path)


def test_loader_names_the_file_of_a_2d_t(tmp_path):
    solo, _ = planted()
    path = _bad(tmp_path, t=solo["t"][:, None])
    with pytest.raises(EdgeSdkError, match=rf"'{re.escape(str(path))}': 't' has shape \(1000, 1\); it must be 1-D"):
        data.load(path)


def test_loader_reads_directory_and_interference(planted_dir):
    ds = data.load(planted_dir)
    assert len(ds.rows) == 2000 and ds.rows.interferers.shape == (2000, 1)
    assert (ds.rows.n_interferers == np.r_[np.zeros(1000), np.ones(1000)]).all()
    with pytest.raises(EdgeSdkError, match="does not exist"):
        data.load(planted_dir / "nope")


def test_splits_are_disjoint_and_cover():
    s = data.split(1000, 0.5, 0)
    parts = [s.train, s.val, s.cal, s.test]
    assert sum(map(len, parts)) == 1000 and len(np.unique(np.concatenate(parts))) == 1000
    assert len(s.test) == 500 and len(s.cal) == 50 and len(s.val) == 25
    with pytest.raises(EdgeSdkError, match="between 0 and 1"):
        data.split(1000, 1.0, 0)


# ------------------------------------------------------------------ conformal
def test_conformal_coverage_with_known_noise():
    """Split conformal on a predictor with Gaussian errors: coverage >= 1 - alpha on fresh data, and the margin
    approaches the true noise quantile."""
    rng = np.random.default_rng(0)
    for alpha in (0.2, 0.1, 0.05):
        covers = []
        for _ in range(200):
            cal, test = rng.normal(0, 0.3, 200), rng.normal(0, 0.3, 2000)
            margin = conformal.conformal_margin(cal, alpha)
            covers.append(conformal.coverage(test, np.full_like(test, margin)))
        assert np.mean(covers) >= 1 - alpha - 0.005
        assert np.mean(covers) <= 1 - alpha + 0.02  # not trivially wide either
    assert conformal.conformal_margin(np.zeros(5), 0.01) == np.inf
    with pytest.raises(EdgeSdkError, match="alpha"):
        conformal.conformal_margin(np.zeros(5), 1.5)


def test_metrics_definitions():
    # MAPE as Pitot defines it: mean |t / t_hat - 1|
    assert conformal.mape(np.array([100.0, 200.0]), np.array([110.0, 180.0])) == pytest.approx((1 / 11 + 1 / 9) / 2)
    y = np.log(np.array([100.0, 100.0]))
    assert conformal.tightness(y, y + np.log(1.25)) == pytest.approx(0.2)
    assert conformal.coverage(y, y - 1) == 0.0


# ------------------------------------------------------------------ estimator
@pytest.fixture(scope="module")
def fitted(planted_dir):
    ds = data.load(planted_dir)
    X = design_matrix(ds.rows.workload, ds.rows.platform, ds.rows.interferers)
    sp = data.split(len(X), 0.7, 0)
    kw = dict(tables=ds.tables, eval_set=(X[sp.val], ds.rows.t[sp.val]),
              calibration_set=(X[sp.cal], ds.rows.t[sp.cal]))
    est = RuntimePredictor(steps=600, batch_size=256, eval_every=100).fit(X[sp.train], ds.rows.t[sp.train], **kw)
    ablation = RuntimePredictor(steps=600, batch_size=256, eval_every=100, interference=False).fit(
        X[sp.train], ds.rows.t[sp.train], **kw)
    return est, ablation, X[sp.test], ds.rows.t[sp.test], len(sp.cal)


def test_recovers_planted_structure(fitted):
    est, ablation, X, y, n_cal = fitted
    m, m_abl = metrics(est, X, y), metrics(ablation, X, y)
    assert m["mape_solo"] < 0.10
    # The interference term is what explains the co-located runs.
    assert m["mape_interference"] < 0.16
    assert m["mape_interference"] < 0.5 * m_abl["mape_interference"]
    b = {x["alpha"]: x for x in m["bounds"]}
    # Split-conformal coverage is 1 - alpha in expectation; over n_cal calibration and len(y) test rows it
    # varies by about sqrt(a (1 - a) / n_cal) + sqrt(a (1 - a) / n_test) between trainings (0.73-0.79 seen at
    # alpha 0.2 with 140 and 600): three of those below the target is a failure.
    for alpha in (0.1, 0.2):
        spread = np.sqrt(alpha * (1 - alpha)) * (1 / np.sqrt(n_cal) + 1 / np.sqrt(len(y)))
        assert b[alpha]["coverage"] >= 1 - alpha - 3 * spread, (alpha, b[alpha]["coverage"], spread)


def test_estimator_checks_inputs(fitted):
    est = fitted[0]
    with pytest.raises(EdgeSdkError, match="integer array of shape"):
        est.predict(np.zeros((3,), dtype=int))
    with pytest.raises(EdgeSdkError, match="workload indices in 0..39"):
        est.predict(np.array([[40, 0]]))
    with pytest.raises(EdgeSdkError, match="positive and finite"):
        est.score(np.array([[0, 0]]), np.array([-1.0]))
    with pytest.raises(EdgeSdkError, match="not fitted"):
        RuntimePredictor().predict(np.array([[0, 0]]))


def test_estimator_checks_hyperparameters_when_fitting(planted_dir):
    ds = data.load(planted_dir)
    X = design_matrix(ds.rows.workload, ds.rows.platform, ds.rows.interferers)
    for params, message in (({"steps": 0}, "steps must be a positive whole number, got 0"),
                            ({"lr": -1.0}, "lr must be a positive finite number"),
                            ({"model": "gru"}, "unknown model 'gru'"),
                            ({"validation_fraction": 1.0}, "validation_fraction must lie strictly between 0 and 1")):
        with pytest.raises(EdgeSdkError, match=message):
            RuntimePredictor(**params).fit(X, ds.rows.t, tables=ds.tables)


def test_estimator_is_a_scikit_learn_estimator_and_splits_its_own_eval_set(planted_dir):
    from sklearn.base import clone
    ds = data.load(planted_dir)
    X = design_matrix(ds.rows.workload, ds.rows.platform, ds.rows.interferers)
    est = RuntimePredictor(steps=200, eval_every=50, batch_size=256, seed=4)
    assert est.get_params()["steps"] == 200 and est.get_params()["validation_fraction"] == 0.1
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    twin.fit(X, ds.rows.t, tables=ds.tables)       # no eval_set: 10% of the rows are held out for it
    assert len(twin.val_residuals_) == 200 and twin.score(X, ds.rows.t) > 0.5
    with pytest.raises(EdgeSdkError, match="no bounds"):
        twin.predict_bound(X[:3], 0.1)
    with pytest.raises(EdgeSdkError, match="too few to hold out a validation split"):
        clone(est).fit(X[:5], ds.rows.t[:5], tables=ds.tables)


def test_matrix_factorization_rejects_bad_indices(planted_dir):
    from sklearn.base import clone

    from edge_sdk.runtime_prediction.mf import MatrixFactorization
    ds = data.load(planted_dir)
    X = design_matrix(ds.rows.workload, ds.rows.platform, ds.rows.interferers)
    mf = MatrixFactorization(rank=2, iterations=3)
    assert clone(mf).get_params() == mf.get_params()
    with pytest.raises(EdgeSdkError, match="not fitted"):
        mf.predict(X[:2])
    mf.fit(X, ds.rows.t, tables=ds.tables)
    for bad, message in (([[-1, 0]], r"X\[:, 0\] holds workload indices in 0..39; row 0 has -1"),
                         ([[0, -3]], r"X\[:, 1\] holds platform indices in 0..24; row 0 has -3"),
                         ([[40, 0]], "workload indices in 0..39; row 0 has 40")):
        with pytest.raises(EdgeSdkError, match=message):
            mf.predict(np.array(bad))
    with pytest.raises(EdgeSdkError, match="workload indices"):
        MatrixFactorization().fit(X - 1, ds.rows.t, tables=ds.tables)


def test_save_load_roundtrip(fitted, tmp_path):
    est, _, X, _, _ = fitted
    est.save(tmp_path / "m.pt")
    back = RuntimePredictor.load(tmp_path / "m.pt")
    np.testing.assert_allclose(back.predict(X), est.predict(X), rtol=1e-6)
    np.testing.assert_allclose(back.predict_bound(X, 0.1), est.predict_bound(X, 0.1), rtol=1e-6)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(EdgeSdkError, match="not an edge-sdk runtime model"):
        RuntimePredictor.load(tmp_path / "junk.pt")
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    del blob["state"], blob["tables"]["n_platform"]
    torch.save(blob, tmp_path / "partial.pt")
    with pytest.raises(EdgeSdkError, match="incomplete edge-sdk runtime model .it lacks state, tables.n_platform.: "
                                           "train it again"):
        RuntimePredictor.load(tmp_path / "partial.pt")


# ------------------------------------------------------------------ CLI
def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "edge_sdk.cli", "runtime", *map(str, args)], capture_output=True,
                          text=True)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_cli_train_evaluate_predict(planted_dir, tmp_path):
    model = tmp_path / "model.pt"
    proc = cli("train", "--data", planted_dir, "-o", model, "--steps", "300", "--train-fraction", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "held-out test split" in proc.stdout and model.exists()
    out = tmp_path / "eval.json"
    proc = cli("evaluate", "--model", model, "--data", planted_dir / "if2.npz", "--json", out)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["n"] == 1000 and result["n_interference"] == 1000 and 0 < result["mape"] < 1
    assert {"alpha", "coverage", "tightness"} <= set(result["bounds"][0])
    proc = cli("evaluate", "--model", model, "--data", planted_dir, "--held-out")
    assert proc.returncode == 0 and "1000 rows" in proc.stdout
    proc = cli("predict", "--model", model, "--workload", "suite/w3", "--platform", "rt:host2", "--with", "suite/w7")
    assert proc.returncode == 0 and "upper bound" in proc.stdout
    proc = cli("predict", "--model", model, "--workload", "suite/w99x", "--platform", "rt:host2")
    assert proc.returncode == 2 and "unknown workload 'suite/w99x'" in proc.stderr and "did you mean" in proc.stderr
    proc = cli("evaluate", "--model", tmp_path / "missing.pt", "--data", planted_dir)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_cli_runtime_rejects_bad_input(planted_dir, tmp_path):
    proc = cli("train", "--data", planted_dir, "-o", tmp_path / "m.pt", "--steps", "0")
    assert proc.returncode == 2 and "error: --steps must be a positive whole number, got 0" in proc.stderr
    assert not (tmp_path / "m.pt").exists()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((planted_dir / "data.npz").read_bytes()[:3000])
    proc = cli("train", "--data", truncated, "-o", tmp_path / "m.pt")
    assert proc.returncode == 2 and "damaged or truncated" in proc.stderr
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    proc = cli("train", "--data", empty, "-o", tmp_path / "m.pt")
    assert proc.returncode == 2 and f"'{empty}' is empty" in proc.stderr


def test_cli_predict_states_the_confidence_exactly(planted_dir, tmp_path):
    """alpha 0.001 holds with probability >= 99.9% (not a rounded "100%"); an alpha the calibration rows cannot
    support, or one outside (0, 1), is an error."""
    ds = data.load(planted_dir)
    X = design_matrix(ds.rows.workload, ds.rows.platform, ds.rows.interferers)
    est = RuntimePredictor(steps=50, eval_every=50).fit(X, ds.rows.t, tables=ds.tables, eval_set=(X, ds.rows.t),
                                                      calibration_set=(X, ds.rows.t))  # 2,000 calibration rows
    est.save(tmp_path / "m.pt")
    args = ("predict", "--model", tmp_path / "m.pt", "--workload", "suite/w1", "--platform", "rt:host1")
    proc = cli(*args, "--alpha", "0.001")
    assert proc.returncode == 0 and "probability >= 99.9%" in proc.stdout
    assert "probability >= 90%" in cli(*args).stdout
    proc = cli(*args, "--alpha", "0.0001")
    assert proc.returncode == 2 and "alpha = 0.0001 needs more than 2000 calibration rows" in proc.stderr
    proc = cli(*args, "--alpha", "0")
    assert proc.returncode == 2 and "strictly between 0 and 1" in proc.stderr


def test_cli_train_defaults_to_the_shipped_measurements(tmp_path):
    """No --data and no EDGE_SDK_DATA: the Pitot measurements carried by the repository in edge_sdk/data/pitot."""
    proc = subprocess.run([sys.executable, "-m", "edge_sdk.cli", "runtime", "train", "-o", tmp_path / "m.pt",
                           "--steps", "10"], capture_output=True, text=True, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items() if k != "EDGE_SDK_DATA"})
    assert proc.returncode == 0, proc.stderr
    meta = RuntimePredictor.load(tmp_path / "m.pt").meta_
    assert meta["data"].endswith(os.path.join("edge_sdk", "data", "pitot")) and meta["rows"] > 100_000


# ------------------------------------------------------------------ collection
def test_collector_end_to_end_and_resume(tmp_path):
    from edge_sdk.runtime_prediction import collect
    out = tmp_path / "collected"
    summary = collect.collect(out, runtimes=["wasmtime-cranelift-speed"], sizes=["tiny"],
                              kernels=["hash_mix", "sort_int"], repetitions=2, pairs_per_workload=1)
    assert summary["failed"] == 0 and summary["solo"] == 2 and summary["interference"] == 2
    ds = data.load(out)
    assert len(ds.rows) == 4 and (ds.rows.t > 0).all()
    assert list(ds.tables.n_workload) == ["edge/hash_mix@tiny", "edge/sort_int@tiny"]
    assert ds.tables.d_workload.shape[0] == 2 and (ds.tables.d_workload > 0).any()
    # A rerun finds every measurement in the journal and measures nothing again.
    again = collect.collect(out, runtimes=["wasmtime-cranelift-speed"], sizes=["tiny"],
                            kernels=["hash_mix", "sort_int"], repetitions=2, pairs_per_workload=1)
    assert again["measured"] == 4 and len((out / "journal.jsonl").read_text().splitlines()) == 4
    with pytest.raises(EdgeSdkError, match="unknown runtime 'v8-magic'"):
        collect.collect(out, runtimes=["v8-magic"])


COLLECT = dict(runtimes=["wasmtime-cranelift-speed"], sizes=["tiny"], kernels=["hash_mix", "sort_int"],
               repetitions=2, pairs_per_workload=1)


def test_collector_retries_failed_measurements_and_survives_a_cut_journal(tmp_path):
    from edge_sdk.runtime_prediction import collect
    out = tmp_path / "collected"
    first = collect.collect(out, timeout_s=1e-3, **COLLECT)      # every run times out
    assert first["failed"] == 4 and first["measured"] == 0
    journal = out / "journal.jsonl"
    journal.write_text(journal.read_text() + '{"workload": "edge/hash_mi')   # killed while writing a line
    again = collect.collect(out, **COLLECT)                    # the failed ones are measured, not skipped
    assert again["failed"] == 0 and again["measured"] == 4 and again["solo"] == 2
    lines = journal.read_text().splitlines()
    assert len(lines) == 8 and all(json.loads(line) for line in lines)
    journal.write_text("not json\n" + journal.read_text())
    with pytest.raises(EdgeSdkError, match="line 1 is not a journal entry.*repair or delete that line"):
        collect.collect(out, **COLLECT)
    with pytest.raises(EdgeSdkError, match="--pairs must be 0 or more"):
        collect.collect(out, runtimes=["wasmtime-cranelift-speed"], pairs_per_workload=-1)


def test_collector_ctrl_c_keeps_the_measurements(tmp_path):
    out = tmp_path / "collected"
    proc = subprocess.Popen([sys.executable, "-m", "edge_sdk.cli", "runtime", "collect", "-o", out, "--runtimes",
                             "wasmtime-cranelift-speed", "--sizes", "tiny", "small", "--repetitions", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ((out / "journal.jsonl").exists()
                                               and (out / "journal.jsonl").read_text().count("\n") >= 1):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert "interrupted:" in err and "run the same command again to resume" in err
    assert len(data.load(out).rows) >= 1


def test_opcode_counts_match_a_hand_built_module():
    from edge_sdk.runtime_prediction.wasm import opcode_counts
    # (module (func (result i32) i32.const 1 i32.const 2 i32.add))
    body = bytes([0x00, 0x41, 0x01, 0x41, 0x02, 0x6A, 0x0B])
    code = bytes([0x01, len(body)]) + body
    module = b"\0asm\x01\0\0\0" + bytes([0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7F]) + bytes([0x03, 0x02, 0x01, 0x00]) \
        + bytes([0x0A, len(code)]) + code
    assert opcode_counts(module) == {"x41": 2, "x6A": 1, "x0B": 1}
    with pytest.raises(EdgeSdkError, match="not a WebAssembly module"):
        opcode_counts(b"ELF")
