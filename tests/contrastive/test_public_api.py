"""The public surface of pyisp_contrast.contrastive must not shrink by accident."""

import pyisp_contrast.contrastive as contrastive

EXPECTED = {
    "VGG16Features",
    "VGG16_LAYERS",
    "vgg16_weights_path",
    "ExposureEncoder",
    "PixelStatistics",
    "pixel_statistics",
    "GrayLevel",
    "gray_level",
    "Gram",
    "gram_matrix",
    "TransformedEmbedder",
    "FeatureDistance",
    "L1Distance",
    "MSEDistance",
    "CosineDistance",
    "GramMSEDistance",
    "ContrastiveLoss",
    "ContrastiveDistances",
    "RatioContrastiveLoss",
    "InfoNCELoss",
    "TripletHingeLoss",
    "IntensityHingeLoss",
    "Reducer",
    "Reduction",
    "MeanReducer",
    "SumReducer",
    "NoReducer",
    "get_reducer",
}


def test_expected_names_are_exported():
    missing = EXPECTED - set(contrastive.__all__)
    assert not missing, f"removed from __all__: {sorted(missing)}"
    for name in contrastive.__all__:
        assert hasattr(contrastive, name), name


def test_lazy_access_from_top_level():
    import pyisp_contrast

    assert pyisp_contrast.contrastive.InfoNCELoss is contrastive.InfoNCELoss
