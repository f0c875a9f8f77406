from kedro.pipeline import Node, Pipeline

from .nodes import build_features, clean


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                clean,
                inputs=["raw_telco_churn", "params:data_contract", "params:clean"],
                outputs="clean_telco_churn",
                name="clean",
            ),
            Node(
                build_features,
                inputs=["clean_telco_churn", "params:data_contract"],
                outputs="model_input_table",
                name="build_features",
            ),
        ]
    )
