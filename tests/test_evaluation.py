import numpy as np
import pytest
from sklearn.metrics import classification_report, confusion_matrix

from mnist_cnn.data import load_mnist
from mnist_cnn.evaluation import Evaluation, evaluate, format_report
from mnist_cnn.model import build_model


def make_evaluation(labels, predictions):
    labels, predictions = np.array(labels), np.array(predictions)
    return Evaluation(
        labels=labels,
        predictions=predictions,
        confidences=np.ones(len(labels)),
        confusion=confusion_matrix(labels, predictions, labels=range(10)),
        report=classification_report(
            labels,
            predictions,
            labels=range(10),
            output_dict=True,
            zero_division=0,
            target_names=[str(d) for d in range(10)],
        ),
        raw_probabilities=np.eye(10, dtype=np.float32)[predictions],
        temperature=None,
    )


def test_evaluate_a_real_model_on_the_sample(sample_npz):
    _, (x_test, y_test) = load_mnist(sample_npz)
    evaluation = evaluate(build_model(), x_test, y_test)
    assert evaluation.confusion.shape == (10, 10)
    assert evaluation.confusion.sum() == len(y_test)
    assert np.array_equal(evaluation.confusion.sum(axis=1), np.bincount(y_test, minlength=10))
    assert evaluation.accuracy == pytest.approx(np.trace(evaluation.confusion) / len(y_test))
    assert ((evaluation.confidences > 0) & (evaluation.confidences <= 1)).all()
    assert [row["digit"] for row in evaluation.per_class()] == list(range(10))


def test_cells_mistakes_and_report():
    labels = [4, 4, 4, 9, 9, 3, 5, 7]
    predictions = [4, 9, 9, 9, 4, 5, 5, 7]
    evaluation = make_evaluation(labels, predictions)
    assert evaluation.accuracy == pytest.approx(4 / 8)
    assert evaluation.cell_indices(4, 9).tolist() == [1, 2]
    assert evaluation.most_confused(top=1) == [(4, 9, 2)]
    # Only real mistakes are listed, however many are asked for.
    assert set(evaluation.most_confused(top=10)) == {(4, 9, 2), (9, 4, 1), (3, 5, 1)}
    rows = {row["digit"]: row for row in evaluation.per_class()}
    assert rows[4]["recall"] == pytest.approx(1 / 3)
    assert rows[4]["precision"] == pytest.approx(1 / 2)
    assert rows[7]["f1-score"] == 1.0 and rows[7]["support"] == 1
    text = format_report(evaluation)
    assert "Test accuracy: 0.5000 (8 images)" in text
    assert "4->9 (2)" in text
