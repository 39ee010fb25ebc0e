import pytest
import torch

from pyisp_contrast.contrastive import (
    MeanReducer,
    NoReducer,
    Reducer,
    Reduction,
    SumReducer,
    get_reducer,
)


def test_reducers_values():
    x = torch.tensor([1.0, 2.0, 6.0])
    assert get_reducer("mean")(x).item() == pytest.approx(3.0)
    assert get_reducer(Reduction.SUM)(x).item() == pytest.approx(9.0)
    assert torch.equal(get_reducer("none")(x), x)


def test_get_reducer_types_and_instances():
    assert isinstance(get_reducer("mean"), MeanReducer)
    assert isinstance(get_reducer("sum"), SumReducer)
    assert isinstance(get_reducer("none"), NoReducer)
    custom = MeanReducer()
    assert get_reducer(custom) is custom


def test_get_reducer_bad():
    with pytest.raises(ValueError, match="reducer"):
        get_reducer("avg")
    with pytest.raises(ValueError, match="reducer"):
        get_reducer(3)


def test_base_reducer_is_abstract():
    with pytest.raises(NotImplementedError):
        Reducer()(torch.ones(2))
