def test_table_puts_ratios_first_and_drops_lists(load_bench):
    ra = load_bench("run_all")
    text = ra.table({"n": 5, "a": {"backend_vs_raw": 1.234}, "speedup": 3.0, "rounds": [1, 2]})
    rows = text.splitlines()[2:]
    assert rows[0].startswith("| **a.backend_vs_raw** | 1.234")
    assert rows[1].startswith("| **speedup** |") and rows[2] == "| n | 5 |"
    assert "rounds" not in text


def test_write_doc_replaces_only_the_marked_section(tmp_path, load_bench):
    ra = load_bench("run_all")
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nhand-written notes\n")
    ra.write_doc(ra.render({"extract": {"result": {"x_vs_y": 2.0}, "seconds": 1.0}}, {"cpu": "test"}), doc)
    first = doc.read_text()
    assert first.startswith("# Benchmarks\n\nhand-written notes\n") and "x_vs_y" in first
    ra.write_doc(ra.render({"extract": {"error": "boom"}}, {"cpu": "test"}), doc)
    second = doc.read_text()
    assert "hand-written notes" in second and "x_vs_y" not in second and "Not measured: boom" in second
    assert second.count(ra.START) == 1 and second.count(ra.END) == 1


def test_discover_skips_this_script_and_orders_the_named_benchmarks(load_bench):
    ra = load_bench("run_all")
    names = [n for n, _ in ra.discover()]
    assert "run_all" not in names and "curriculum" not in names and "tasks" not in names
    known = [n for n in ra.ORDER if n in names]
    assert names[: len(known)] == known
