"""Co-writing for service users and the hiring manager's recusal: words, Swedish first and English
(merged into ``i18n`` at import, as ``staff_texts`` is)."""

from __future__ import annotations

COWRITE_SV: dict[str, str] = {
    # -- co-writing (service users) --
    "cowrite_link": "Skriv med i texterna",
    "cowrite_texts_title": "Texterna till rekryteringen",
    "cowrite_texts_lead": ("Chefen skriver texterna tillsammans med er som är med i panelen. Här ser du vad som "
                           "står och vem som skrev det. Andra brukare står som ”en brukare”, aldrig med namn."),
    "cowrite_kind_job_description": "Tjänstebeskrivningen",
    "cowrite_kind_advert": "Annonsen",
    "cowrite_kind_participation": "Hur brukarna är med",
    "cowrite_published": "Så här står det i den publicerade annonsen",
    "cowrite_contributions": "Bidrag",
    "cowrite_none": "Ingen har skrivit något ännu.",
    "cowrite_by_hiring_manager": "chefen",
    "cowrite_by_coordinator": "samordnaren",
    "cowrite_add_job_description": "Skriv i tjänstebeskrivningen",
    "cowrite_add_advert": "Skriv i annonsen",
    "cowrite_add_participation": "Skriv om hur brukarna är med",
    "cowrite_closed_decided": "Beslutet om anställning är fattat. Det går inte att skriva mer i texterna.",
    "cowrite_closed_advert_published": ("Tjänstebeskrivningen är klar, eftersom annonsen är publicerad. "
                                        "Du kan fortfarande skriva i annonsen."),
    "cowrite_question_job_description": "Vad vill du lägga till i tjänstebeskrivningen?",
    "cowrite_question_advert": "Vad vill du lägga till i annonsen?",
    "cowrite_question_participation": "Vad ska de som söker jobbet veta om hur brukarna är med?",
    "cowrite_hint_job_description": ("Tjänstebeskrivningen säger vad den som anställs ska göra. Skriv till exempel "
                                     "vad som är viktigt när man möter brukare."),
    "cowrite_hint_advert": ("Annonsen är det som de som söker jobbet läser först. Skriv till exempel vad du som "
                            "brukare tycker är viktigt hos den som får jobbet."),
    "cowrite_hint_participation": ("Texten visas med annonsen. Skriv ärligt hur brukare är med i rekryteringen och "
                                   "hur mycket brukarna styr i jobbet."),
    "cowrite_already_there": "Det här står redan",
    "cowrite_text_required_job_description": "Skriv vad du vill lägga till i tjänstebeskrivningen",
    "cowrite_text_required_advert": "Skriv vad du vill lägga till i annonsen",
    "cowrite_text_required_participation": "Skriv vad de som söker jobbet ska veta om hur brukarna är med",
    "cowrite_text_too_long": "Skriv kortare: högst 4 000 tecken",
    "cowrite_check_title": "Kontrollera ditt bidrag innan du skickar det",
    "cowrite_check_kind": "Text",
    "cowrite_check_text": "Ditt bidrag",
    "cowrite_when_sent": "När du har skickat",
    "cowrite_when_sent_1": "Chefen, samordnaren och de andra i panelen kan läsa ditt bidrag.",
    "cowrite_when_sent_2": "Ditt namn står inte med. Där står ”en brukare”.",
    "cowrite_when_sent_3": "Chefen bestämmer vad som kommer med i den färdiga texten.",
    "cowrite_when_sent_4": "Du kan inte ta bort bidraget, men du kan skriva ett nytt.",
    "cowrite_send": "Skicka bidraget",
    "cowrite_sent_title": "Ditt bidrag är skickat",
    "cowrite_next_title": "Vad händer nu?",
    "cowrite_next_job_description": ("Chefen läser bidragen och skriver den färdiga tjänstebeskrivningen innan "
                                     "annonsen publiceras."),
    "cowrite_next_advert": ("Chefen läser bidragen och bestämmer vad som står i annonsen när den publiceras. "
                            "Annonsen kan ändras fram till beslutet om anställning."),
    "cowrite_next_participation": ("Chefen läser bidragen. Den färdiga texten visas med annonsen, för alla som "
                                   "funderar på att söka jobbet."),
    "cowrite_next_shown": ("Ditt bidrag står nu bland de andra bidragen. Du ser det som skrivet av dig. Chefen och "
                           "de andra i panelen ser ”en brukare”."),
    "cowrite_read_all": "Läs texterna och vem som skrev vad",
    # -- the hiring manager's recusal --
    "recuse_lead": ("Om du känner kandidaten, till exempel som släkting, vän eller tidigare kollega, är du jävig. "
                    "Då ska du avstå från att bedöma just den personen."),
    "recuse_link": "Jag känner {name}: anmäl jäv",
    "recuse_check_title": "Kontrollera innan du anmäler jäv",
    "recuse_candidate": "Kandidat",
    "recuse_answer": "Ditt svar",
    "recuse_answer_yes": "Jag känner kandidaten (jäv)",
    "recuse_not_now": "Jag känner inte kandidaten, tillbaka",
    "recuse_means_title": "Det här betyder det",
    "recuse_means_1": "Du bedömer inte {name}.",
    "recuse_means_2": "Du ser inte panelens bedömningar av {name}.",
    "recuse_means_3": "Din anmälan sparas i rekryteringens uppgifter om vem som påverkade beslutet.",
    "recuse_means_4": "Du kan inte ändra svaret efteråt. Kontakta samordnaren om det blev fel.",
    "recuse_button": "Anmäl jäv och avstå",
    "recused_saved": "Din jävsanmälan är sparad.",
    "recused_title": "Du har anmält jäv för {name}",
    "recused_no_summary": "Du har anmält jäv, så du ser inte panelens bedömningar av kandidaten.",
}

COWRITE_EN: dict[str, str] = {
    "cowrite_link": "Help write the texts",
    "cowrite_texts_title": "The recruitment's texts",
    "cowrite_texts_lead": ("The manager writes the texts together with you on the panel. Here you see what they say "
                           "and who wrote it. Other service users are shown as “a service user”, never by name."),
    "cowrite_kind_job_description": "The job description",
    "cowrite_kind_advert": "The advert",
    "cowrite_kind_participation": "How service users take part",
    "cowrite_published": "What the published advert says",
    "cowrite_contributions": "Contributions",
    "cowrite_none": "Nobody has written anything yet.",
    "cowrite_by_hiring_manager": "the manager",
    "cowrite_by_coordinator": "the coordinator",
    "cowrite_add_job_description": "Write in the job description",
    "cowrite_add_advert": "Write in the advert",
    "cowrite_add_participation": "Write about how service users take part",
    "cowrite_closed_decided": "The hiring decision is made. The texts can no longer be added to.",
    "cowrite_closed_advert_published": ("The job description is finished, because the advert is published. "
                                        "You can still write in the advert."),
    "cowrite_question_job_description": "What would you like to add to the job description?",
    "cowrite_question_advert": "What would you like to add to the advert?",
    "cowrite_question_participation": "What should applicants know about how service users take part?",
    "cowrite_hint_job_description": ("The job description says what the person hired will do. Write, for example, "
                                     "what matters when meeting service users."),
    "cowrite_hint_advert": ("The advert is what applicants read first. Write, for example, what you as a service "
                            "user think matters in the person who gets the job."),
    "cowrite_hint_participation": ("This text is shown with the advert. Say honestly how service users take part "
                                   "in the recruitment and how much service users lead the work in the job."),
    "cowrite_already_there": "What is already there",
    "cowrite_text_required_job_description": "Write what you would like to add to the job description",
    "cowrite_text_required_advert": "Write what you would like to add to the advert",
    "cowrite_text_required_participation": "Write what applicants should know about how service users take part",
    "cowrite_text_too_long": "Write less: at most 4,000 characters",
    "cowrite_check_title": "Check your contribution before you send it",
    "cowrite_check_kind": "Text",
    "cowrite_check_text": "Your contribution",
    "cowrite_when_sent": "Once you have sent it",
    "cowrite_when_sent_1": "The manager, the coordinator and the others on the panel can read your contribution.",
    "cowrite_when_sent_2": "Your name is not shown. It says “a service user”.",
    "cowrite_when_sent_3": "The manager decides what goes into the finished text.",
    "cowrite_when_sent_4": "You cannot remove the contribution, but you can write a new one.",
    "cowrite_send": "Send the contribution",
    "cowrite_sent_title": "Your contribution is sent",
    "cowrite_next_title": "What happens next?",
    "cowrite_next_job_description": ("The manager reads the contributions and writes the finished job description "
                                     "before the advert is published."),
    "cowrite_next_advert": ("The manager reads the contributions and decides what the advert says when it is "
                            "published. The advert can change until the hiring decision."),
    "cowrite_next_participation": ("The manager reads the contributions. The finished text is shown with the "
                                   "advert, to everyone thinking of applying for the job."),
    "cowrite_next_shown": ("Your contribution is now listed with the others. You see it as written by you. The "
                           "manager and the others on the panel see “a service user”."),
    "cowrite_read_all": "Read the texts and who wrote what",
    "recuse_lead": ("If you know the candidate, for example as a relative, friend or former colleague, you have a "
                    "conflict of interest. Then you should step aside from assessing that person."),
    "recuse_link": "I know {name}: declare a conflict of interest",
    "recuse_check_title": "Check before you declare a conflict of interest",
    "recuse_candidate": "Candidate",
    "recuse_answer": "Your answer",
    "recuse_answer_yes": "I know the candidate (conflict of interest)",
    "recuse_not_now": "I do not know the candidate, go back",
    "recuse_means_title": "What this means",
    "recuse_means_1": "You do not assess {name}.",
    "recuse_means_2": "You do not see the panel's assessments of {name}.",
    "recuse_means_3": "Your declaration is kept in the recruitment's record of who influenced the decision.",
    "recuse_means_4": "You cannot change the answer afterwards. Contact the coordinator if it was wrong.",
    "recuse_button": "Declare the conflict and step aside",
    "recused_saved": "Your declaration of a conflict of interest is saved.",
    "recused_title": "You have declared a conflict of interest for {name}",
    "recused_no_summary": ("You declared a conflict of interest, so you do not see the panel's assessments of the "
                           "candidate."),
}
