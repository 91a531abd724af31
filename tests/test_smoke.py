from tests import factories


def test_factories_build_a_live_template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary)
    page = factories.letter_template(customer_dictionary, standard_layout, [greeting])
    assert greeting.is_usable
    assert page.live
    assert page.check_content() == []
