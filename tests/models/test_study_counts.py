"""The kept configs of the study's models checked against the study's own parameter counts: where the study
counted the base model (transformers' AutoModel, no task head), the kept config built that way on the meta
device gives exactly the study's figure. This checks each architecture (vocabulary, layers, widths) against
a number published with the study, independently of the task head the catalog builds."""

import pytest

from wattprint.models.catalog import entries

BASE = [e for e in entries(study=True)
        if e.study_parameters != e.parameters and "AutoModel" in e.parameters_note
        or any(k in e.parameters_note for k in ("without the classifier", "without its LM head", "BlipModel"))]


def test_most_study_models_are_checked_here_or_match_as_built():
    as_built = [e for e in entries(study=True) if e.study_parameters == e.parameters]
    assert len(BASE) >= 50 and len(BASE) + len(as_built) >= 79  # the other 11: notes (checker, rounding...)


@pytest.mark.parametrize("entry", BASE, ids=[e.name for e in BASE])
def test_base_model_has_the_study_count(entry):
    from wattprint.models.build import meta_parameter_counts

    unique, _ = meta_parameter_counts(entry.config, "AutoModel")
    assert unique == entry.study_parameters, f"{entry.name}: AutoModel builds {unique:,}"
