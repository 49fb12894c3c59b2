from dataclasses import dataclass

from pydantic import BaseModel

from servicekit.outputs import fields_for


class Out(BaseModel):
    id: int
    name: str
    label: str = "none"
    size: int


@dataclass
class Thing:
    id: int
    name: str
    secret: str

    @property
    def size(self) -> int:
        return len(self.name)


def test_fields_come_by_name_from_attributes_and_mappings_later_ones_winning():
    thing = Thing(1, "four", "never shown")
    assert fields_for(Out, thing) == {"id": 1, "name": "four", "size": 4}
    assert Out(**fields_for(Out, thing, {"name": "renamed"})).model_dump() == {
        "id": 1,
        "name": "renamed",
        "label": "none",
        "size": 4,
    }
