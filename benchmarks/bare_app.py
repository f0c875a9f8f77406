"""The ceiling of the service's stack: FastAPI on uvicorn answering POST /predict with a constant, nothing else.

`bench_trees` loads it beside the service, in the same run and the same way (one uvicorn process, no access
log), so the service's requests/s read as a share of what the framework itself can do on this machine.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request

ANSWER = {"churn_probability": 0.5, "churn": False, "threshold": 0.5, "offer": True, "expected_value": 0.0}

app = FastAPI()


@app.post("/predict")
async def predict(request: Request) -> dict[str, object]:
    await request.body()  # read the body as the service does, then answer without looking at it
    return ANSWER


@app.get("/ready")
def ready() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning", access_log=False)
