from dossiers.workflow import Status


def test_full_path_to_returned(make_dossier):
    dossier = make_dossier(Status.RETURNED)
    assert dossier.status == Status.RETURNED
    assert dossier.code
    assert dossier.events.count() == dossier.event_seq
