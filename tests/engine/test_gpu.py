"""The same ALS code on CUDA gives the CPU's answers (skipped where there is no GPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.data.synthetic import planted_implicit
from engine.evaluate.protocol_s import _child
from engine.models import create
from engine.models.als_matrix import Side, weight_matrix
from engine.models.als_solvers import exact_update
from engine.storage.checkpoint import Checkpoint

pytestmark = pytest.mark.gpu
CUDA = torch.device("cuda")


@pytest.fixture(scope="module")
def data():
    return planted_implicit(n_users=120, n_items=80, per_user=9, seed=7)


def test_sparse_kernels_match_dense_on_cuda(data):
    w = weight_matrix(data, 2.0, "rating")
    side = Side.build(w, CUDA)
    x = torch.randn(data.n_users, 16, device=CUDA)
    y = torch.randn(data.n_items, 16, device=CUDA)
    rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    dense = (x @ y.T).cpu().numpy()[rows, w.indices]
    np.testing.assert_allclose(side.sddmm(x, y).cpu().numpy(), dense, rtol=1e-4, atol=1e-4)
    spmm = side.spmm(side.weight, y).cpu().numpy()
    np.testing.assert_allclose(spmm, w @ y.cpu().numpy(), rtol=1e-4, atol=1e-4)


def test_exact_update_on_cuda_equals_cpu(data):
    w = weight_matrix(data, 1.5, "rating")
    other = torch.randn(data.n_items, 8)
    cpu = exact_update(w, other, 0.5, 1 << 12)
    gpu = exact_update(w, other.to(CUDA), 0.5, 1 << 12).cpu()
    np.testing.assert_allclose(gpu.numpy(), cpu.numpy(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_fit_on_cuda_matches_cpu(data, solver):
    params = {"factors": 8, "epochs": 6, "solver": solver}
    cpu = create("als", device="cpu", **params).fit(data)
    gpu = create("als", device=CUDA, **params).fit(data)
    assert gpu._user_factors.device.type == "cuda"
    scores_cpu = cpu.score_users(np.arange(data.n_users)).numpy()
    scores_gpu = gpu.score_users(np.arange(data.n_users)).numpy()
    np.testing.assert_allclose(scores_gpu, scores_cpu, atol=2e-3)
    items, values = data.user_items(3)
    np.testing.assert_allclose(
        gpu.fold_in(items, values).vector.cpu().numpy(),
        cpu.fold_in(items, values).vector.numpy(),
        atol=2e-3,
    )


def test_checkpoint_resume_on_cuda(tmp_path, data):
    reference = create("als", device=CUDA, factors=8, epochs=4).fit(data)

    def stop(done, total, message=""):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        create("als", device=CUDA, factors=8, epochs=4).fit(
            data, progress=stop, checkpoint=Checkpoint(tmp_path)
        )
    resumed = create("als", device=CUDA, factors=8, epochs=4).fit(
        data, checkpoint=Checkpoint(tmp_path)
    )
    torch.testing.assert_close(resumed._user_factors, reference._user_factors)


def test_protocol_s_gpu_step_reports_bandwidth(tmp_path):
    sizes = {"n_users": 2000, "n_items": 1000, "n_ratings": 100_000}
    _child(["--step", "generate", "--data", str(tmp_path), "--sizes", json.dumps(sizes)], 2)
    out = _child(["--step", "als", "--data", str(tmp_path), "--device", "cuda"], 2)
    assert out["bytes_per_s"] > 0 and out["gpu_peak_mib"] > 0
    assert out["peak_bytes_per_s"] is None or out["peak_bytes_per_s"] > 1e11
