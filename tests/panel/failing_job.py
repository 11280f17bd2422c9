"""A job that always fails, for filling rq's failed-job registry in tests."""


def explode(reason: str) -> None:
    raise RuntimeError(f"boom: {reason}")
