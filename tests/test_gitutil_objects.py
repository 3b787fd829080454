"""gitutil's one `git cat-file --batch` per repository: many objects asked at once read as each
asked alone."""
import subprocess
import threading

import pytest

from porter import gitutil


def _repo(path):
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    files = []
    for i in range(300):       # more than one chunk of names written ahead of the answers
        files.append(path / f"f{i}")
        files[-1].write_bytes(b"blob %d\n" % i * (i % 7 + 1))
    out = subprocess.run(["git", "-C", str(path), "hash-object", "-w", *map(str, files)], check=True,
                         capture_output=True).stdout
    return out.decode().split(), [f.read_bytes() for f in files]


def test_objects_read_at_once_are_those_read_one_by_one(tmp_path):
    shas, contents = _repo(tmp_path / "r")
    names = [*shas, "0" * 40, "bad\nname", shas[0], "HEAD", *reversed(shas)]
    many = gitutil.read_objects(tmp_path / "r", names)
    assert many == [gitutil.read_object(tmp_path / "r", n) for n in names]
    assert [got[1:] for got in many[:300]] == [("blob", data) for data in contents]
    assert many[300:304] == [None, None, many[0], None]


def test_a_folder_that_is_no_repository_cannot_be_read(tmp_path):
    (tmp_path / "plain").mkdir()
    assert gitutil.read_object(tmp_path / "plain", "HEAD") is None
    with pytest.raises(gitutil.GitError):
        gitutil.read_objects(tmp_path / "plain", ["HEAD"])
    assert gitutil.read_objects(tmp_path / "plain", []) == []


def test_long_names_asked_at_once_do_not_block_git(tmp_path):
    """Git answers a missing name by echoing it: names long enough fill both pipes unless they are
    written a bounded chunk at a time."""
    shas, contents = _repo(tmp_path / "r")
    names = [f"HEAD:{'d' * 900}/{i}" for i in range(400)] + [shas[5]]
    got = []
    reader = threading.Thread(target=lambda: got.append(gitutil.read_objects(tmp_path / "r", names)), daemon=True)
    reader.start()
    reader.join(60)
    assert got and got[0][:400] == [None] * 400 and got[0][400][1:] == ("blob", contents[5])
