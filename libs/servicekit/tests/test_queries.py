from servicekit.db import load_queries


def test_named_queries_keep_their_why_comment(tmp_path):
    path = tmp_path / "q.sql"
    path.write_text("-- name: first\n-- why: because\nSELECT 1;\n\n-- name: second\nSELECT 2;\n")
    assert load_queries(path) == {"first": "-- why: because\nSELECT 1;", "second": "SELECT 2;"}
