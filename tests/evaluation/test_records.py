"""A record is what berxit-sweep saved, or it is refused naming the file (#39): never replayed on NaN."""

import numpy as np
import pytest
import torch

from berxit.evaluation.records import ExitRecord


def test_a_record_comes_back_as_saved(tmp_path):
    record = ExitRecord(torch.randn(5, 3, 2), torch.rand(5, 3), torch.tensor([0, 1, 1, 0, 1]))
    record.save(tmp_path / "record.npz")
    loaded = ExitRecord.load(tmp_path / "record.npz")
    assert torch.equal(loaded.exit_logits, record.exit_logits) and torch.equal(loaded.labels, record.labels)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (dict(exit_logits=np.zeros((5, 3, 2)), certainties=np.full((5, 3), np.nan)), "certainties are not all finite"),
        (dict(exit_logits=np.full((5, 3, 2), np.inf), certainties=np.zeros((5, 3))), "exit logits are not all finite"),
        (dict(exit_logits=np.zeros((5, 3, 2)), certainties=np.zeros((5, 4))), "its arrays disagree in shape"),
        (dict(exit_logits=np.zeros((5, 3, 2)), certainties=np.zeros((5, 3)), labels=np.zeros(4)), "disagree in shape"),
    ],
)
def test_a_record_that_is_not_what_a_sweep_saves_is_refused(tmp_path, arrays, message):
    path = tmp_path / "record.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=f"{path}: {message}|{path}: .*{message}"):
        ExitRecord.load(path)
