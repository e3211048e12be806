"""What a plugin is handed back: each question's ``meta`` on its answers at ``submit``, and
photos under a unique name (the marker and the photo's id) with the resident's own beside it."""

from __future__ import annotations

from pathlib import Path

from scf_plugins import Attachment, Integration, Issue, Submission, hookimpl
from scf_plugins.plugins import build_manager
from scf_plugins.testing import Harness
from scf_plugins.testing.fake import FakeRemote

from .test_photos import photo, write


class Keeps(FakeRemote):
    """The fake remote, keeping what submit and push_attachment were given."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.submitted: list[Issue] = []
        self.photos: list[Attachment] = []

    @hookimpl
    def submit(self, integration: Integration, issue: Issue) -> Submission:
        self.submitted.append(issue)
        return super().submit(integration, issue)  # type: ignore[no-any-return]

    @hookimpl
    def push_attachment(
        self, integration: Integration, issue: Issue, attachment: Attachment
    ) -> str:
        self.photos.append(attachment)
        return f"file-{attachment.id}"


def harnessed(harness: object, basic_config: str) -> tuple[Harness, Keeps]:
    host = build_manager(load_entry_points=False)
    plugin = Keeps("fake-a")
    host.register(plugin, "fake-a")
    h: Harness = harness(basic_config, host=host)  # type: ignore[operator]
    h.cli_ok("request-types", "--refresh")
    return h, plugin


def test_submit_gets_each_questions_meta_on_its_answers(harness: object, basic_config: str) -> None:
    h, plugin = harnessed(harness, basic_config)
    h.report("SIGNS", "21=3", "22=Stop", "22=Yield", "24=No", summary="Signs down")
    assert h.sync().acknowledged == 1
    [issue] = plugin.submitted
    by_question = {(a.question_id, a.answer): dict(a.meta) for a in issue.answers}
    assert by_question[("21", "3")] == {"datatype": "number"}  # as the plugin listed it
    assert by_question[("22", "Stop")] == {} and by_question[("24", "No")] == {}
    assert h.show(issue.id)["answers"]  # what is stored and shown is as before


def test_two_photos_named_alike_go_under_unique_names_with_their_own_beside(
    harness: object, basic_config: str, tmp_path: Path
) -> None:
    h, plugin = harnessed(harness, basic_config)
    one, two = tmp_path / "a", tmp_path / "b"
    one.mkdir()
    two.mkdir()
    issue_id = h.report("GRAFFITI", image=[write(one, "image.jpg", photo()),
                                          write(two, "image.jpg", photo(60, 30))],
                        summary="Tag")  # fmt: skip
    h.sync()
    h.sync()
    marker = h.show(issue_id)["link"]["marker"]
    sent = sorted(plugin.photos, key=lambda a: a.id)
    assert [a.filename for a in sent] == [f"{marker}-{a.id}.jpg" for a in sent]
    assert len({a.filename for a in sent}) == 2
    assert [a.original_name for a in sent] == ["image.jpg", "image.jpg"]
