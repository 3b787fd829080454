"""Conflict blocks carried through later steps on their port side (porter/markers.py)."""
from porter.markers import port_side, restore

BLOCK = (b"<<<<<<< port\n\tport_line();\n||||||| upstream OLD\n\told_line();\n=======\n"
         b"\tnew_line();\n>>>>>>> upstream NEW\n")


def test_port_side_and_back():
    text = b"int f(void)\n{\n" + BLOCK + b"\treturn 0;\n}\n"
    clean, blocks = port_side(text)
    assert clean == b"int f(void)\n{\n\tport_line();\n\treturn 0;\n}\n" and len(blocks) == 1
    out, moved = restore(clean, clean, blocks)
    assert out == text and moved(3) == 4 and moved(4) == 10 and moved(1) == 1


def test_a_later_step_changes_around_and_inside_the_port_side():
    text = b"int f(void)\n{\n" + BLOCK + b"\treturn 0;\n}\n"
    clean, blocks = port_side(text)
    later = b"/* f */\n" + clean.replace(b"\tport_line();\n", b"\tport_line(1);\n")
    out, _ = restore(clean, later, blocks)
    assert out == (b"/* f */\nint f(void)\n{\n<<<<<<< port\n\tport_line(1);\n||||||| upstream OLD\n"
                   b"\told_line();\n=======\n\tnew_line();\n>>>>>>> upstream NEW\n\treturn 0;\n}\n")


def test_an_empty_port_side_and_text_without_blocks():
    text = b"a\n<<<<<<< port\n||||||| upstream OLD\nold\n=======\nnew\n>>>>>>> upstream NEW\nb\n"
    clean, blocks = port_side(text)
    assert clean == b"a\nb\n"
    assert restore(clean, b"a\nb\nc\n", blocks)[0] == text + b"c\n"
    assert port_side(b"x\n") == (b"x\n", [])
    unterminated = b"<<<<<<< port\nx\n"
    assert port_side(unterminated) == (unterminated, [])
