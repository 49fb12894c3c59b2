import uuid

from servicekit.auth import Principal, Role, hash_secret, new_key, split_key


def test_new_key_splits_back_into_id_and_secret_whose_hash_is_stored():
    key = new_key()
    key_id, secret = split_key(key.plaintext)
    assert key_id == key.key_id
    assert hash_secret(secret) == key.secret_hash
    assert secret not in key.secret_hash


def test_malformed_keys_do_not_split():
    for bad in ["", "bm", "bm_", "bm_x", "xx_a_b", "bm__secret", "bm_" + "a" * 300]:
        assert split_key(bad) is None


def test_roles_are_ordered():
    p = Principal(uuid.uuid4(), uuid.uuid4(), Role.MANAGER)
    assert p.at_least(Role.MEMBER) and p.at_least(Role.MANAGER) and not p.at_least(Role.ADMIN)
    assert Role.parse("admin") is Role.ADMIN and str(Role.MEMBER) == "member"
