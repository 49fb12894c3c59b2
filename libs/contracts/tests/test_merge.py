from contracts import merge


def test_fields_are_found_once_in_order_of_use():
    assert merge.used_fields("{{last_name}} 様", "{{ company }} {{last_name}}", None) == [
        "last_name",
        "company",
    ]


def test_unknown_fields_are_reported_and_attributes_allowed():
    text = "{{ first_name }} {{ attr.plan }} {{ nickname }} {{ attr. }}"
    assert merge.unknown_fields(text) == ["nickname", "attr."]
    assert merge.is_known("attr.plan") and not merge.is_known("attr.")


def test_plain_braces_are_not_fields():
    assert merge.used_fields("{ x } {{ }} {{1abc}}") == []
