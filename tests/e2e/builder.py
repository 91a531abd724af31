"""Steps the letter journeys share: open the builder on a template and choose a customer."""


def open_builder(page, template_slug, search, customer_name, customer_id):
    """From Letters → New letter, the builder of ``template_slug`` with the customer found by
    typing ``search`` and chosen from the results."""
    page.goto("/admin/correspondence/letters/new/")
    page.locator(f"[data-template-choice={template_slug}]").click()
    page.wait_for_url("**/admin/correspondence/letters/new/*/")
    page.locator("[data-customer-search]").press_sequentially(search, delay=30)
    page.locator("[data-customer-results] button", has_text=customer_name).click()
    page.locator("[data-customer-chosen]", has_text=customer_id).wait_for()
