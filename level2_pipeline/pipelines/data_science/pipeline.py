from kedro.pipeline import Node, Pipeline

from .nodes import evaluate, split, train


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split,
                inputs=["model_input_table", "params:data_contract", "params:split"],
                outputs=["X_train", "X_test", "y_train", "y_test"],
                name="split",
            ),
            Node(
                train,
                inputs=["X_train", "y_train", "params:data_contract", "params:model"],
                outputs="model",
                name="train",
            ),
            Node(
                evaluate,
                inputs=["model", "X_test", "y_test", "y_train", "params:data_contract", "params:evaluate"],
                outputs=["metrics", "test_predictions"],
                name="evaluate",
            ),
        ]
    )
