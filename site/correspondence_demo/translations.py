"""The demo library in French and Dutch: the strings wagtail-localize gives a translator for
each fragment, the letterhead and the letter templates, with what a translator wrote.

``DemoBuilder.translations`` feeds them through wagtail-localize's PO files, as a translator
would, and approves each variant through the review as the demo's reviewer. A string missing
here stops the demo with its text, so that the demo's wording and its translations cannot
drift apart unnoticed.
"""

FRENCH = {
    # Fragments
    "Greeting": "Salutation",
    "Dear {{ customer.title }} {{ customer.last_name }},": "Chère Madame, cher Monsieur {{ customer.last_name }},",
    "Reference block": "Bloc de référence",
    "<b>Customer number:</b> {{ customer.id }}": "<b>Numéro de client :</b> {{ customer.id }}",
    "Payment reminder": "Rappel de paiement",
    "Our records show an outstanding balance of <b>{{ balance|money }}</b> on your account. We kindly ask you to "
    "settle it by {{ due_date|date }}.":
        "Selon nos données, votre compte présente un solde impayé de <b>{{ balance|money }}</b>. Nous vous prions "
        "de bien vouloir le régler avant le {{ due_date|date }}.",
    "Overdue notice": "Avis de retard",
    "As the amount now exceeds {{ 500|money }}, we may suspend your cover if it is not paid within 14 days.":
        "Le montant dépassant désormais {{ 500|money }}, nous pourrons suspendre votre couverture s'il n'est pas "
        "payé dans les 14 jours.",
    "If you have already paid, please disregard this reminder.":
        "Si vous avez déjà payé, veuillez ne pas tenir compte de ce rappel.",
    "List of open invoices": "Liste des factures ouvertes",
    "The following invoices are open:": "Les factures suivantes sont ouvertes :",
    "Invoice": "Facture",
    "Due": "Échéance",
    "Amount": "Montant",
    "You have no open invoices.": "Vous n'avez aucune facture ouverte.",
    "Payment methods": "Modes de paiement",
    "You can pay by bank transfer to BE71 0961 2345 6769, quoting {{ customer.id }}, or online in your customer "
    "portal.":
        "Vous pouvez payer par virement sur le compte BE71 0961 2345 6769 en mentionnant {{ customer.id }}, ou en "
        "ligne dans votre portail client.",
    "Data-protection notice": "Protection des données",
    "We process your personal data to manage your contract, as described in our privacy notice. You may access, "
    "correct or erase your data by writing to our Data Protection Officer.":
        "Nous traitons vos données personnelles pour gérer votre contrat, comme décrit dans notre politique de "
        "confidentialité. Vous pouvez y accéder, les rectifier ou les effacer en écrivant à notre délégué à la "
        "protection des données.",
    "Complaint acknowledgement": "Accusé de réception de plainte",
    "<b>Your letter of {{ in_reply_to.date|date }}, our reference {{ in_reply_to.reference }}</b><br/>"
    "{{ in_reply_to.subject }}":
        "<b>Votre lettre du {{ in_reply_to.date|date }}, notre référence {{ in_reply_to.reference }}</b><br/>"
        "{{ in_reply_to.subject }}",
    "Thank you for writing to us. We have registered your complaint; please quote our reference "
    "{{ in_reply_to.reference }} when you contact us about it.":
        "Merci de nous avoir écrit. Nous avons enregistré votre plainte ; veuillez mentionner notre référence "
        "{{ in_reply_to.reference }} lorsque vous nous contactez à ce sujet.",
    "Complaint next steps": "Suite de la plainte",
    "A member of our complaints team will review your case and reply within 15 working days. If you are not "
    "satisfied with our answer, you may contact the Insurance Ombudsman.":
        "Un membre de notre service des plaintes examinera votre dossier et vous répondra dans les 15 jours "
        "ouvrables. Si notre réponse ne vous satisfait pas, vous pouvez vous adresser à l'Ombudsman des Assurances.",
    "Policy renewal notice": "Avis de renouvellement",
    "Your {{ policy.product }} policy {{ policy.number }} renews on {{ policy.renewal_date|date }}.":
        "Votre contrat {{ policy.product }} {{ policy.number }} est renouvelé le {{ policy.renewal_date|date }}.",
    "As a valued long-standing customer, your premium is frozen this year.":
        "En tant que client fidèle, votre prime est gelée cette année.",
    "Renewal premium table": "Tableau de la prime de renouvellement",
    "Policy": "Contrat",
    "Product": "Produit",
    "Renewal date": "Date de renouvellement",
    "Annual premium": "Prime annuelle",
    "Your renewal": "Votre renouvellement",
    "Contact details": "Coordonnées",
    "Questions? Call us on +32 2 555 00 00 (weekdays 8:00–18:00), write to help@northwind.example or chat with us "
    "in your customer portal.":
        "Des questions ? Appelez-nous au +32 2 555 00 00 (en semaine de 8 h à 18 h), écrivez à "
        "help@northwind.example ou discutez avec nous dans votre portail client.",
    "Claim delay apology": "Excuses pour le retard du sinistre",
    "We are sorry that the handling of your claim is taking longer than we promised. We understand how "
    "frustrating this is, {{ customer.first_name }}, and we are doing what we can to speed it up.":
        "Nous regrettons que le traitement de votre sinistre prenne plus de temps que promis. Nous comprenons "
        "combien c'est frustrant, {{ customer.first_name }}, et nous faisons le nécessaire pour l'accélérer.",
    "Claim: documents needed": "Sinistre : documents nécessaires",
    "<b>Documents.</b> Please send us the repair estimate and photos of the damage, quoting {{ customer.id }}, "
    "by email or in your customer portal.":
        "<b>Documents.</b> Veuillez nous envoyer le devis de réparation et des photos des dégâts, en mentionnant "
        "{{ customer.id }}, par e-mail ou dans votre portail client.",
    "Claim: expert visit": "Sinistre : visite de l'expert",
    "<b>Expert visit.</b> An independent expert will call you within five working days to arrange a visit.":
        "<b>Visite de l'expert.</b> Un expert indépendant vous appellera dans les cinq jours ouvrables pour "
        "convenir d'une visite.",
    "Claim: advance payment": "Sinistre : avance",
    "<b>Advance payment.</b> We will pay an advance on the undisputed part of your claim within ten working days.":
        "<b>Avance.</b> Nous verserons une avance sur la partie non contestée de votre sinistre dans les dix jours "
        "ouvrables.",
    "Closing": "Formule de politesse",
    "Kind regards,": "Veuillez agréer nos salutations distinguées,",
    "Signature block": "Signature",
    "<b>Northwind Mutual</b><br/>Customer Service": "<b>Northwind Mutual</b><br/>Service clientèle",
    # The letterhead
    "<b>Northwind Mutual</b> · Insurance since 1921": "<b>Northwind Mutual</b> · Assureur depuis 1921",
    "Northwind Mutual SA · Rue Royale 1, 1000 Brussels · RPM Brussels 0123.456.789 · FSMA 01234":
        "Northwind Mutual SA · Rue Royale 1, 1000 Bruxelles · RPM Bruxelles 0123.456.789 · FSMA 01234",
    "Northwind Mutual · Rue Royale 1 · 1000 Brussels": "Northwind Mutual · Rue Royale 1 · 1000 Bruxelles",
    "Page {page} of {pages}": "Page {page} sur {pages}",
    # Letter templates
    "Payment reminder letter, ready for agents.": "Lettre de rappel de paiement, prête pour les agents.",
    "Payment reminder — account {{ customer.id }}": "Rappel de paiement — compte {{ customer.id }}",
    "Reminder: {{ balance|money }} due": "Rappel : {{ balance|money }} à payer",
    "Dear {{ customer.first_name }}, please find attached a reminder about your balance of {{ balance|money }}.":
        "Bonjour {{ customer.first_name }}, vous trouverez en annexe un rappel concernant votre solde de "
        "{{ balance|money }}.",
    "Northwind: a balance of {{ balance|money }} is due on {{ due_date|date('short') }}. Ref {{ customer.id }}":
        "Northwind : un solde de {{ balance|money }} est à payer le {{ due_date|date('short') }}. Réf. "
        "{{ customer.id }}",
    "Complaint acknowledgement letter, ready for agents.":
        "Lettre d'accusé de réception de plainte, prête pour les agents.",
    "Your complaint {{ in_reply_to.reference }}": "Votre plainte {{ in_reply_to.reference }}",
    "We received your complaint {{ in_reply_to.reference }}": "Nous avons reçu votre plainte {{ in_reply_to.reference }}",
    "Dear {{ customer.first_name }}, we have registered your complaint; our letter is attached.":
        "Bonjour {{ customer.first_name }}, nous avons enregistré votre plainte ; notre lettre est en annexe.",
    "Northwind: complaint {{ in_reply_to.reference }} registered. We reply within 15 working days.":
        "Northwind : plainte {{ in_reply_to.reference }} enregistrée. Nous répondons dans les 15 jours ouvrables.",
    "Claim update": "Suivi du sinistre",
    "Tell a customer where their claim stands. You may reword or leave out the apology and choose the next steps, "
    "in the order that fits; everything else is locked.":
        "Informez un client de l'état de son sinistre. Vous pouvez reformuler ou omettre les excuses et choisir "
        "les prochaines étapes dans l'ordre qui convient ; tout le reste est verrouillé.",
    "Your claim — customer {{ customer.id }}": "Votre sinistre — client {{ customer.id }}",
    "News about your claim": "Des nouvelles de votre sinistre",
    "Dear {{ customer.first_name }}, our letter about your claim is attached.":
        "Bonjour {{ customer.first_name }}, notre lettre concernant votre sinistre est en annexe.",
    "Northwind: news about your claim, customer {{ customer.id }}. See your letter.":
        "Northwind : des nouvelles de votre sinistre, client {{ customer.id }}. Voir votre lettre.",
    "Policy renewal": "Renouvellement du contrat",
    "Policy renewal letter, ready for agents.": "Lettre de renouvellement de contrat, prête pour les agents.",
    "Renewal of policy {{ policy.number }}": "Renouvellement du contrat {{ policy.number }}",
    "Your policy {{ policy.number }} renews soon": "Votre contrat {{ policy.number }} sera bientôt renouvelé",
    "Dear {{ customer.first_name }}, your renewal letter is attached.":
        "Bonjour {{ customer.first_name }}, votre lettre de renouvellement est en annexe.",
    "Northwind: policy {{ policy.number }} renews on {{ policy.renewal_date|date('short') }}.":
        "Northwind : le contrat {{ policy.number }} est renouvelé le {{ policy.renewal_date|date('short') }}.",
}

DUTCH = {
    # Fragments
    "Greeting": "Aanhef",
    "Dear {{ customer.title }} {{ customer.last_name }},": "Geachte heer, mevrouw {{ customer.last_name }},",
    "Reference block": "Referentieblok",
    "<b>Customer number:</b> {{ customer.id }}": "<b>Klantnummer:</b> {{ customer.id }}",
    "Payment reminder": "Betalingsherinnering",
    "Our records show an outstanding balance of <b>{{ balance|money }}</b> on your account. We kindly ask you to "
    "settle it by {{ due_date|date }}.":
        "Volgens onze gegevens staat er op uw rekening een openstaand saldo van <b>{{ balance|money }}</b>. Wij "
        "vragen u vriendelijk dit te betalen vóór {{ due_date|date }}.",
    "Overdue notice": "Achterstandsbericht",
    "As the amount now exceeds {{ 500|money }}, we may suspend your cover if it is not paid within 14 days.":
        "Omdat het bedrag nu hoger is dan {{ 500|money }}, kunnen wij uw dekking schorsen als het niet binnen "
        "14 dagen betaald is.",
    "If you have already paid, please disregard this reminder.":
        "Hebt u al betaald, dan mag u deze herinnering als niet verzonden beschouwen.",
    "List of open invoices": "Lijst van openstaande facturen",
    "The following invoices are open:": "De volgende facturen staan open:",
    "Invoice": "Factuur",
    "Due": "Vervaldag",
    "Amount": "Bedrag",
    "You have no open invoices.": "U hebt geen openstaande facturen.",
    "Payment methods": "Betaalwijzen",
    "You can pay by bank transfer to BE71 0961 2345 6769, quoting {{ customer.id }}, or online in your customer "
    "portal.":
        "U kunt betalen met een overschrijving naar BE71 0961 2345 6769 met vermelding van {{ customer.id }}, of "
        "online in uw klantenportaal.",
    "Data-protection notice": "Gegevensbescherming",
    "We process your personal data to manage your contract, as described in our privacy notice. You may access, "
    "correct or erase your data by writing to our Data Protection Officer.":
        "Wij verwerken uw persoonsgegevens om uw contract te beheren, zoals beschreven in onze privacyverklaring. "
        "U kunt uw gegevens inzien, verbeteren of laten wissen door te schrijven naar onze functionaris voor "
        "gegevensbescherming.",
    "Complaint acknowledgement": "Ontvangstbevestiging klacht",
    "<b>Your letter of {{ in_reply_to.date|date }}, our reference {{ in_reply_to.reference }}</b><br/>"
    "{{ in_reply_to.subject }}":
        "<b>Uw brief van {{ in_reply_to.date|date }}, onze referentie {{ in_reply_to.reference }}</b><br/>"
        "{{ in_reply_to.subject }}",
    "Thank you for writing to us. We have registered your complaint; please quote our reference "
    "{{ in_reply_to.reference }} when you contact us about it.":
        "Dank u voor uw brief. Wij hebben uw klacht geregistreerd; vermeld onze referentie "
        "{{ in_reply_to.reference }} wanneer u ons hierover contacteert.",
    "Complaint next steps": "Verder verloop van de klacht",
    "A member of our complaints team will review your case and reply within 15 working days. If you are not "
    "satisfied with our answer, you may contact the Insurance Ombudsman.":
        "Een medewerker van onze klachtendienst onderzoekt uw dossier en antwoordt binnen 15 werkdagen. Bent u "
        "niet tevreden met ons antwoord, dan kunt u zich wenden tot de Ombudsman van de Verzekeringen.",
    "Policy renewal notice": "Bericht van verlenging",
    "Your {{ policy.product }} policy {{ policy.number }} renews on {{ policy.renewal_date|date }}.":
        "Uw polis {{ policy.product }} {{ policy.number }} wordt verlengd op {{ policy.renewal_date|date }}.",
    "As a valued long-standing customer, your premium is frozen this year.":
        "Als trouwe klant blijft uw premie dit jaar ongewijzigd.",
    "Renewal premium table": "Tabel verlengingspremie",
    "Policy": "Polis",
    "Product": "Product",
    "Renewal date": "Verlengingsdatum",
    "Annual premium": "Jaarpremie",
    "Your renewal": "Uw verlenging",
    "Contact details": "Contactgegevens",
    "Questions? Call us on +32 2 555 00 00 (weekdays 8:00–18:00), write to help@northwind.example or chat with us "
    "in your customer portal.":
        "Vragen? Bel ons op +32 2 555 00 00 (weekdagen 8.00–18.00 uur), schrijf naar help@northwind.example of "
        "chat met ons in uw klantenportaal.",
    "Claim delay apology": "Excuses voor vertraging schadedossier",
    "We are sorry that the handling of your claim is taking longer than we promised. We understand how "
    "frustrating this is, {{ customer.first_name }}, and we are doing what we can to speed it up.":
        "Het spijt ons dat de behandeling van uw schadedossier langer duurt dan beloofd. We begrijpen hoe "
        "vervelend dat is, {{ customer.first_name }}, en we doen wat we kunnen om het te versnellen.",
    "Claim: documents needed": "Schade: nodige documenten",
    "<b>Documents.</b> Please send us the repair estimate and photos of the damage, quoting {{ customer.id }}, "
    "by email or in your customer portal.":
        "<b>Documenten.</b> Stuur ons de herstellingsofferte en foto's van de schade, met vermelding van "
        "{{ customer.id }}, per e-mail of via uw klantenportaal.",
    "Claim: expert visit": "Schade: bezoek van de expert",
    "<b>Expert visit.</b> An independent expert will call you within five working days to arrange a visit.":
        "<b>Bezoek van de expert.</b> Een onafhankelijke expert belt u binnen vijf werkdagen om een bezoek af te "
        "spreken.",
    "Claim: advance payment": "Schade: voorschot",
    "<b>Advance payment.</b> We will pay an advance on the undisputed part of your claim within ten working days.":
        "<b>Voorschot.</b> Wij betalen binnen tien werkdagen een voorschot op het onbetwiste deel van uw schade.",
    "Closing": "Slotformule",
    "Kind regards,": "Met vriendelijke groeten,",
    "Signature block": "Ondertekening",
    "<b>Northwind Mutual</b><br/>Customer Service": "<b>Northwind Mutual</b><br/>Klantendienst",
    # The letterhead
    "<b>Northwind Mutual</b> · Insurance since 1921": "<b>Northwind Mutual</b> · Verzekeraar sinds 1921",
    "Northwind Mutual SA · Rue Royale 1, 1000 Brussels · RPM Brussels 0123.456.789 · FSMA 01234":
        "Northwind Mutual NV · Koningsstraat 1, 1000 Brussel · RPR Brussel 0123.456.789 · FSMA 01234",
    "Northwind Mutual · Rue Royale 1 · 1000 Brussels": "Northwind Mutual · Koningsstraat 1 · 1000 Brussel",
    "Page {page} of {pages}": "Pagina {page} van {pages}",
    # Letter templates
    "Payment reminder letter, ready for agents.": "Betalingsherinnering, klaar voor de agenten.",
    "Payment reminder — account {{ customer.id }}": "Betalingsherinnering — rekening {{ customer.id }}",
    "Reminder: {{ balance|money }} due": "Herinnering: {{ balance|money }} te betalen",
    "Dear {{ customer.first_name }}, please find attached a reminder about your balance of {{ balance|money }}.":
        "Beste {{ customer.first_name }}, in bijlage vindt u een herinnering over uw saldo van {{ balance|money }}.",
    "Northwind: a balance of {{ balance|money }} is due on {{ due_date|date('short') }}. Ref {{ customer.id }}":
        "Northwind: een saldo van {{ balance|money }} vervalt op {{ due_date|date('short') }}. Ref. "
        "{{ customer.id }}",
    "Complaint acknowledgement letter, ready for agents.": "Ontvangstbevestiging van een klacht, klaar voor de agenten.",
    "Your complaint {{ in_reply_to.reference }}": "Uw klacht {{ in_reply_to.reference }}",
    "We received your complaint {{ in_reply_to.reference }}": "Wij ontvingen uw klacht {{ in_reply_to.reference }}",
    "Dear {{ customer.first_name }}, we have registered your complaint; our letter is attached.":
        "Beste {{ customer.first_name }}, wij hebben uw klacht geregistreerd; onze brief zit in bijlage.",
    "Northwind: complaint {{ in_reply_to.reference }} registered. We reply within 15 working days.":
        "Northwind: klacht {{ in_reply_to.reference }} geregistreerd. Wij antwoorden binnen 15 werkdagen.",
    "Claim update": "Stand van uw schadedossier",
    "Tell a customer where their claim stands. You may reword or leave out the apology and choose the next steps, "
    "in the order that fits; everything else is locked.":
        "Laat een klant weten hoe het met zijn schadedossier staat. U mag de excuses herformuleren of weglaten en "
        "de volgende stappen kiezen, in de passende volgorde; al het andere ligt vast.",
    "Your claim — customer {{ customer.id }}": "Uw schadedossier — klant {{ customer.id }}",
    "News about your claim": "Nieuws over uw schadedossier",
    "Dear {{ customer.first_name }}, our letter about your claim is attached.":
        "Beste {{ customer.first_name }}, onze brief over uw schadedossier zit in bijlage.",
    "Northwind: news about your claim, customer {{ customer.id }}. See your letter.":
        "Northwind: nieuws over uw schadedossier, klant {{ customer.id }}. Zie uw brief.",
    "Policy renewal": "Verlenging van de polis",
    "Policy renewal letter, ready for agents.": "Verlengingsbrief voor een polis, klaar voor de agenten.",
    "Renewal of policy {{ policy.number }}": "Verlenging van polis {{ policy.number }}",
    "Your policy {{ policy.number }} renews soon": "Uw polis {{ policy.number }} wordt binnenkort verlengd",
    "Dear {{ customer.first_name }}, your renewal letter is attached.":
        "Beste {{ customer.first_name }}, uw verlengingsbrief zit in bijlage.",
    "Northwind: policy {{ policy.number }} renews on {{ policy.renewal_date|date('short') }}.":
        "Northwind: polis {{ policy.number }} wordt verlengd op {{ policy.renewal_date|date('short') }}.",
}

TRANSLATIONS = {"fr": FRENCH, "nl": DUTCH}

# The demo's out-of-date translation: this English wording is approved again after the
# translations were made; the Dutch is translated again from it, the French is not. The French
# variant then says what the source used to say: it is flagged in the lists and on the
# translators' dashboard, and French letters of the claim update are refused until it is
# translated again and approved.
CHANGED_AFTER_TRANSLATION = (
    "claim-expert-visit",
    "<p><b>Expert visit.</b> An independent expert will call you within three working days to arrange a visit.</p>",
    {"<b>Expert visit.</b> An independent expert will call you within three working days to arrange a visit.":
        "<b>Bezoek van de expert.</b> Een onafhankelijke expert belt u binnen drie werkdagen om een bezoek af te "
        "spreken."},
)
