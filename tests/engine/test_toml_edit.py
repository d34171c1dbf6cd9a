"""engine.toml_edit: one value changed in its own line, comments and order kept (issue 17)."""

from __future__ import annotations

import tomllib

import pytest

from engine import toml_edit

TEXT = """# top comment
name = "x"   # trailing comment

# the lanes
[lanes]
"受理 Intake" = "intake"  # who takes it

# L2 figures
[dispatch_deadlines]
ordinary = "PT2H"
urgent = "PT30M"

[departments.network]
label = "Network"
group = "dept:network"

# next table's comment
[warnings]
default = 0.75
"""


def test_a_value_is_replaced_in_its_line_with_its_comment_kept():
    text = toml_edit.set_value(TEXT, ["lanes"], "受理 Intake", "intake2")
    assert '"受理 Intake" = "intake2"  # who takes it' in text
    assert text.replace("intake2", "intake") == TEXT


def test_a_missing_key_goes_after_the_tables_last_key_not_into_the_next_tables_comment():
    text = toml_edit.set_value(TEXT, ["dispatch_deadlines"], "batch", "PT1H")
    assert 'urgent = "PT30M"\nbatch = "PT1H"\n\n[departments.network]' in text
    text = toml_edit.set_value(TEXT, ["departments", "network"], "note", "n")
    assert 'group = "dept:network"\nnote = "n"\n\n# next table' in text


def test_a_new_table_follows_its_siblings_and_a_removed_one_leaves_the_rest():
    text = toml_edit.add_table(TEXT, ["departments", "legal"], {"label": "法务 Legal", "group": "dept:legal"})
    added = '[departments.legal]\nlabel = "法务 Legal"\ngroup = "dept:legal"'
    assert f'group = "dept:network"\n\n{added}\n\n# next' in text
    assert toml_edit.remove_table(text, ["departments", "legal"]) == TEXT
    with pytest.raises(toml_edit.TomlEditError, match="exists already"):
        toml_edit.add_table(TEXT, ["departments", "network"], {"label": "x"})


def test_lists_numbers_and_booleans_round_trip_and_keys_are_removed():
    text = toml_edit.set_value(TEXT, ["calendars", "reply"], "holidays", ["2026-10-01", "2026-10-02"])
    text = toml_edit.set_value(text, ["warnings"], "L2", 0.5)
    text = toml_edit.set_value(text, ["flags"], "on", True)
    parsed = tomllib.loads(text)
    assert parsed["calendars"]["reply"]["holidays"] == ["2026-10-01", "2026-10-02"]
    assert parsed["warnings"] == {"default": 0.75, "L2": 0.5} and parsed["flags"] == {"on": True}
    assert tomllib.loads(toml_edit.remove_key(text, ["warnings"], "L2"))["warnings"] == {"default": 0.75}


def test_a_multi_line_value_is_refused_rather_than_guessed():
    text = 'windows = [\n  "08:00-12:00",\n]\n'
    with pytest.raises(toml_edit.TomlEditError, match="several lines"):
        toml_edit.set_value(text, [], "windows", ["08:00-12:00"])
