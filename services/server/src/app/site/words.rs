//! The words of the letter, supplement, import, calendar, deviation, audit and report pages,
//! in bokmål and English. Kept apart from `i18n.rs` so those pages can grow without touching
//! the shared table; `Lang::t` looks in both.

/// (key, bokmål, English).
pub const WORDS: &[(&str, &str, &str)] = &[
    // Navigation.
    ("nav", "Sider", "Pages"),
    ("letters", "Tildelingsbrev", "Allocation letters"),
    ("calendar", "Styringskalender", "Steering calendar"),
    ("deviations", "Avviksrapporter", "Deviation reports"),
    (
        "import",
        "Importer brev fra tekst",
        "Import a letter from text",
    ),
    // Letters.
    ("source.letter", "Tildelingsbrevet", "The letter"),
    ("req.open", "Åpent", "Open"),
    ("req.met", "Oppfylt", "Met"),
    ("req.waived", "Frafalt", "Waived"),
    (
        "no_letters",
        "Ingen tildelingsbrev ennå.",
        "No allocation letters yet.",
    ),
    ("case_ref", "Vår ref.", "Case reference"),
    ("issued_on", "Utstedt", "Issued on"),
    ("draft", "utkast", "draft"),
    ("supplements", "Supplerende tildelingsbrev", "Supplements"),
    (
        "back_to_letters",
        "Tilbake til tildelingsbrevene",
        "Back to the letters",
    ),
    (
        "back_to_letter",
        "Tilbake til tildelingsbrevet",
        "Back to the letter",
    ),
    ("letter", "Tildelingsbrev", "Letter"),
    ("goals", "Mål", "Goals"),
    (
        "assessment_criteria",
        "Vurderingskriterier",
        "Assessment criteria",
    ),
    (
        "steering_parameters",
        "Styringsparametere",
        "Steering parameters",
    ),
    ("key_figures", "Nøkkeltall", "Key figures"),
    ("budget", "Budsjett", "Budget"),
    (
        "in_thousands",
        "Beløp i 1 000 kr",
        "Amounts in NOK thousands",
    ),
    ("chapter_post", "Kap./post", "Chapter/item"),
    ("text", "Tekst", "Text"),
    ("original", "Tildelt", "Original"),
    ("adjustments", "Endringer", "Adjustments"),
    ("current", "Gjeldende", "Current"),
    (
        "sum_mismatch",
        "Trykt sum stemmer ikke for kapittel",
        "Printed sum does not match for chapter",
    ),
    (
        "requirements",
        "Rapporteringskrav",
        "Reporting requirements",
    ),
    ("source", "Kilde", "Source"),
    (
        "no_supplements",
        "Ingen supplerende tildelingsbrev.",
        "No supplements.",
    ),
    ("supplement_no", "Tillegg nr.", "Supplement no."),
    ("supplement_draft", "Utkast til tillegg", "Draft supplement"),
    ("none_yet", "Ingen ennå.", "None yet."),
    ("date", "Dato", "Date"),
    (
        "reports_and_meetings",
        "Rapporter og møter",
        "Reports and meetings",
    ),
    (
        "printed_calendar",
        "Som trykt i brevet",
        "As printed in the letter",
    ),
    (
        "draft_supplement",
        "Lag utkast til tillegg",
        "Draft a supplement",
    ),
    ("issue_letter", "Utsted brevet", "Issue the letter"),
    (
        "import_supplement",
        "Importer et tillegg fra tekst",
        "Import a supplement from text",
    ),
    (
        "appendix",
        "Vedlegg: Oversikt over særskilte oppdrag",
        "Appendix: overview of assignments",
    ),
    ("tertial_report", "Tertialrapport", "Tertial report"),
    (
        "audit_letter_link",
        "Revisjonsvisning av brevet",
        "Audit view of the letter",
    ),
    // Supplements.
    ("changes", "Endringer", "Changes"),
    ("no_changes", "Ingen endringer.", "No changes."),
    (
        "add_budget",
        "Legg til budsjettendring",
        "Add a budget adjustment",
    ),
    ("add_assignment", "Legg til oppdrag", "Add an assignment"),
    ("add_text", "Legg til tekst", "Add text"),
    (
        "issue_supplement",
        "Utsted tillegget",
        "Issue the supplement",
    ),
    ("chapter", "Kapittel", "Chapter"),
    ("post", "Post", "Item (post)"),
    (
        "stated_total",
        "Endring (1 000 kr)",
        "Change (NOK thousands)",
    ),
    ("printed", "Som trykt", "As printed"),
    (
        "number_printed",
        "Nummer (tom: neste)",
        "Number (empty: the next)",
    ),
    ("ch.add_assignment", "Nytt oppdrag", "New assignment"),
    (
        "ch.amend_assignment",
        "Endret oppdrag",
        "Amended assignment",
    ),
    ("ch.change_deadline", "Endret frist", "Changed deadline"),
    (
        "ch.cancel_assignment",
        "Avlyst oppdrag",
        "Cancelled assignment",
    ),
    (
        "ch.transfer_assignment",
        "Overført oppdrag",
        "Transferred assignment",
    ),
    (
        "ch.budget_adjustment",
        "Budsjettendring",
        "Budget adjustment",
    ),
    (
        "ch.add_requirement",
        "Nytt rapporteringskrav",
        "New reporting requirement",
    ),
    ("ch.free_text", "Tekst", "Text"),
    ("ch.other", "Endring", "Change"),
    // Import.
    (
        "import.help",
        "Lim inn teksten fra tildelingsbrevet, med eventuelle tillegg etter det. Forhåndsvisningen viser hva som ble gjenkjent og hva som ikke ble det; ingenting lagres før du velger «Lagre som utkast». Brevet og hvert tillegg blir utkast du går gjennom og utsteder; det som alt er importert fra samme tekst, lagres ikke på nytt.",
        "Paste the text of the allocation letter, with any supplements after it. The preview shows what was recognised and what was not; nothing is stored until you choose “Save as drafts”. The letter and each supplement become drafts you review and issue; what was already imported from the same text is not stored again.",
    ),
    ("import.text", "Tekst", "Text"),
    ("import.preview", "Forhåndsvis", "Preview"),
    ("import.apply", "Lagre som utkast", "Save as drafts"),
    ("import.recognised", "Gjenkjent", "Recognised"),
    ("import.warnings", "Advarsler", "Warnings"),
    ("import.no_warnings", "Ingen advarsler.", "No warnings."),
    ("import.unparsed", "Ikke gjenkjent", "Not recognised"),
    ("import.applied", "Lagret", "Stored"),
    ("import.commands", "Nye kommandoer", "New commands"),
    ("import.repeated", "allerede gjort", "already done"),
    ("line", "Linje", "Line"),
    // Calendar.
    ("list_view", "Liste", "List"),
    ("month_view", "Måned", "Month"),
    ("month", "Måned (ÅÅÅÅ-MM)", "Month (YYYY-MM)"),
    (
        "bad_month",
        "Skriv måneden som ÅÅÅÅ-MM.",
        "Write the month as YYYY-MM.",
    ),
    ("ical", "Abonner (iCalendar)", "Subscribe (iCalendar)"),
    ("kind", "Type", "Kind"),
    (
        "no_calendar",
        "Ingen datoer i kalenderen.",
        "No dates in the calendar.",
    ),
    (
        "no_calendar_month",
        "Ingen datoer denne måneden.",
        "No dates this month.",
    ),
    ("ck.tertial_report", "Tertialrapport", "Tertial report"),
    ("ck.half_year_report", "Halvårsrapport", "Half-year report"),
    ("ck.quarter_report", "Kvartalsrapport", "Quarterly report"),
    ("ck.annual_report", "Årsrapport", "Annual report"),
    ("ck.budget_input", "Budsjettinnspill", "Budget input"),
    ("ck.risk_assessment", "Risikovurdering", "Risk assessment"),
    ("ck.accounts", "Regnskap", "Accounts"),
    (
        "ck.steering_meeting",
        "Etatsstyringsmøte",
        "Steering meeting",
    ),
    ("ck.technical_meeting", "Fagmøte", "Technical meeting"),
    ("ck.other", "Annet", "Other"),
    ("ck.letter", "Fra tildelingsbrevet", "From the letter"),
    ("cs.scheduled", "Planlagt", "Scheduled"),
    ("cs.completed", "Gjennomført", "Completed"),
    ("cs.minutes_recorded", "Referat skrevet", "Minutes recorded"),
    ("cs.missed", "Ikke levert", "Missed"),
    ("cs.cancelled", "Avlyst", "Cancelled"),
    (
        "back_to_calendar",
        "Tilbake til kalenderen",
        "Back to the calendar",
    ),
    (
        "cal.schedule",
        "Sett opp i kalenderen",
        "Add to the calendar",
    ),
    ("cal.responsible", "Ansvarlig", "Responsible"),
    ("side.AGENCY", "Virksomheten", "The agency"),
    ("side.MINISTRY", "Departementet", "The ministry"),
    ("cal.reschedule", "Flytt til en annen dato", "Reschedule"),
    (
        "cal.complete",
        "Marker som gjennomført eller levert",
        "Mark as held or delivered",
    ),
    ("cal.minutes", "Skriv inn referatet", "Record the minutes"),
    (
        "cal.formalize",
        "Formaliser en instruks",
        "Formalize an instruction",
    ),
    ("cal.missed", "Marker som ikke levert", "Mark as missed"),
    ("cal.cancel", "Avlys", "Cancel the item"),
    ("cal.new_date", "Ny dato", "New date"),
    (
        "cal.decisions_input",
        "Beslutninger (én per linje)",
        "Decisions (one per line)",
    ),
    (
        "cal.instructions_input",
        "Instrukser gitt i møtet (én per linje)",
        "Instructions given at the meeting (one per line)",
    ),
    ("cal.decisions", "Beslutninger", "Decisions"),
    ("cal.instructions", "Instrukser", "Instructions"),
    ("cal.instruction", "Instruks", "Instruction"),
    (
        "cal.source",
        "Formalisert i (brev eller tillegg)",
        "Formalized in (letter or supplement)",
    ),
    ("cal.formalized_by", "Formalisert i", "Formalized in"),
    (
        "cal.not_formalized",
        "Ikke formalisert ennå",
        "Not formalized yet",
    ),
    // Deviations.
    (
        "deviation.rule",
        "Vesentlige avvik skal meldes umiddelbart. Tiden fra avviket ble oppdaget til det ble meldt vises, og for sene meldinger er merket.",
        "Significant deviations must be reported at once. The time from discovery to report is shown, and late reports are flagged.",
    ),
    (
        "no_deviations",
        "Ingen avviksrapporter.",
        "No deviation reports.",
    ),
    ("subject", "Gjelder", "Concerns"),
    ("explanation", "Forklaring", "Explanation"),
    ("measures", "Tiltak", "Measures"),
    ("discovered_on", "Oppdaget", "Discovered on"),
    ("submitted_on", "Meldt", "Reported on"),
    ("lag", "Tid til melding", "Reporting lag"),
    ("days", "dager", "days"),
    ("reported_late", "Meldt for sent", "Reported late"),
    ("significant", "Vesentlig", "Significant"),
    (
        "significant_check",
        "Vesentlig avvik",
        "Significant deviation",
    ),
    (
        "deviation_amount",
        "Avvik (1 000 kr)",
        "Deviation (NOK thousands)",
    ),
    ("report_deviation", "Meld avvik", "Report a deviation"),
    ("deviation_kind", "Type avvik", "Kind of deviation"),
    (
        "goal_section",
        "Mål (avsnitt, f.eks. 2.1)",
        "Goal (section, e.g. 2.1)",
    ),
    ("category", "Kategori", "Category"),
    (
        "periodised_budget",
        "Periodisert budsjett (1 000 kr)",
        "Periodised budget (NOK thousands)",
    ),
    ("actual", "Regnskap (1 000 kr)", "Actual (NOK thousands)"),
    (
        "keep_draft",
        "Lagre som utkast (ikke send ennå)",
        "Keep as a draft (do not send yet)",
    ),
    ("choose", "Velg", "Choose"),
    ("dk.goal", "Mål", "Goal"),
    ("dk.assignment", "Oppdrag", "Assignment"),
    ("dk.budget", "Budsjett", "Budget"),
    ("dc.budget", "Budsjett", "Budget"),
    ("dc.goal_achievement", "Måloppnåelse", "Goal achievement"),
    ("dc.law_breach", "Brudd på lov", "Breach of law"),
    (
        "dc.security_incident",
        "Sikkerhetshendelse",
        "Security incident",
    ),
    (
        "dc.public_interest",
        "Særlig offentlig interesse",
        "Special public interest",
    ),
    (
        "dv.submit",
        "Send til departementet",
        "Send to the ministry",
    ),
    ("dv.acknowledge", "Bekreft mottatt", "Acknowledge"),
    ("dv.follow_up", "Still spørsmål", "Ask a follow-up question"),
    ("dv.answer", "Send svar", "Send the answer"),
    ("dv.close", "Lukk", "Close"),
    ("dv.question", "Spørsmål", "Question"),
    ("dv.answer_text", "Svar", "Answer"),
    ("ds.draft", "Utkast", "Draft"),
    ("ds.submitted", "Meldt", "Submitted"),
    ("ds.acknowledged", "Bekreftet", "Acknowledged"),
    (
        "ds.follow_up_requested",
        "Spørsmål fra departementet",
        "Follow-up requested",
    ),
    ("ds.answered", "Besvart", "Answered"),
    ("ds.closed", "Lukket", "Closed"),
    // Audit.
    ("chain", "Hjemmelskjede (hash-kjede)", "Hash chain"),
    (
        "chain.help",
        "Verifiseringen leser hele loggen; start den ved behov.",
        "Verification reads the whole log; run it when needed.",
    ),
    (
        "chain.verify",
        "Verifiser kjeden nå",
        "Verify the chain now",
    ),
    ("chain.intact", "Kjeden er hel", "The chain is intact"),
    ("chain.broken", "Kjeden er brutt", "The chain is broken"),
    ("chain.checked", "Hendelser kontrollert:", "Events checked:"),
    ("chain.to", "til posisjon", "up to position"),
    ("chain.at", "ved posisjon", "at position"),
    (
        "completeness",
        "Kopier til Riksrevisjonen",
        "Copies to Riksrevisjonen",
    ),
    ("from", "Fra dato", "From date"),
    ("to", "Til dato", "To date"),
    (
        "from_after_to",
        "Fra-datoen er etter til-datoen; viser bare til-datoen.",
        "The from date is after the to date; showing the to date only.",
    ),
    ("cp.items", "Korrespondanse", "Correspondence items"),
    ("cp.delivered", "Levert", "Delivered"),
    ("cp.pending", "Venter", "Pending"),
    ("cp.failed", "Feilet (prøves igjen)", "Failed (will retry)"),
    ("cp.no_channel", "Ingen kanal", "No channel"),
    ("cp.missing", "Mangler", "Missing"),
    ("cp.complete", "Komplett", "Complete"),
    ("cp.incomplete", "Ikke komplett", "Incomplete"),
    ("cp.copy_to", "Kopi til", "Copy to"),
    ("cp.attempts", "Forsøk", "Attempts"),
    (
        "audit_letter",
        "Revisjon av tildelingsbrev",
        "Audit of a letter",
    ),
    (
        "effective_by",
        "Virkning innen (valgfritt)",
        "In effect by (optional)",
    ),
    ("effective", "virkning", "effective"),
    (
        "axes.help",
        "«Per dato» viser det som var registrert ved slutten av dagen; «virkning innen» tar bare med det som hadde trådt i kraft.",
        "“As of” shows what had been recorded by the end of that day; “in effect by” keeps only what had taken effect.",
    ),
    (
        "letter_not_yet",
        "Brevet fantes ikke ennå på denne datoen.",
        "The letter did not exist yet on this date.",
    ),
    ("history", "Historikk", "History"),
    (
        "diff",
        "Endringer mellom to datoer",
        "Changes between two dates",
    ),
    (
        "diff.help",
        "Velg to datoer for å se hva som endret seg.",
        "Choose two dates to see what changed.",
    ),
    ("compare", "Sammenlign", "Compare"),
    (
        "bad_instant",
        "Skriv ÅÅÅÅ-MM-DD, eller ÅÅÅÅ-MM-DDTTT:MM for et klokkeslett.",
        "Write YYYY-MM-DD, or YYYY-MM-DDTHH:MM for a time of day.",
    ),
    ("field", "Felt", "Field"),
    ("before", "Før", "Before"),
    ("after", "Etter", "After"),
    // Reports.
    (
        "download_html",
        "Last ned som dokument (HTML)",
        "Download as a document (HTML)",
    ),
    ("download_pdf", "Last ned som PDF", "Download as PDF"),
    ("pdf.page", "side", "page"),
    ("pdf.of", "av", "of"),
    ("not_reported", "Ikke rapportert", "Not reported"),
    // Forms.
    ("required", "Må fylles ut.", "Required."),
    ("bad_number", "Skriv et helt tall.", "Write a whole number."),
    (
        "not_negative",
        "Kan ikke være negativt.",
        "Cannot be negative.",
    ),
    ("remove", "Fjern", "Remove"),
    ("one_per_line", "Én per linje.", "One per line."),
    // Drafting a letter.
    ("new_letter", "Nytt tildelingsbrev", "New allocation letter"),
    ("draft_letter", "Opprett utkastet", "Create the draft"),
    ("add_goal", "Legg til mål", "Add a goal"),
    ("section", "Punkt", "Section"),
    (
        "add_budget_line",
        "Legg til budsjettpost",
        "Add a budget line",
    ),
    ("amount", "Beløp (1 000 kr)", "Amount (NOK thousands)"),
    (
        "state_chapter_sum",
        "Oppgi kapitlets trykte sum",
        "State a chapter's printed sum",
    ),
    ("sum", "Sum (1 000 kr)", "Sum (NOK thousands)"),
    (
        "set_threshold",
        "Sett grensen for vesentlige avvik",
        "Set the threshold for significant deviations",
    ),
    (
        "per_mille",
        "Promille (50 = 5,0 %)",
        "Per mille (50 = 5.0 %)",
    ),
    (
        "add_requirement",
        "Legg til rapporteringskrav",
        "Add a reporting requirement",
    ),
    (
        "add_calendar_item",
        "Legg til i styringskalenderen",
        "Add to the steering calendar",
    ),
    ("printed_date", "Dato som trykt", "Date as printed"),
    (
        "list_assignment",
        "Før opp et oppdrag",
        "List an assignment",
    ),
    ("assignment", "Oppdrag", "Assignment"),
    ("meet_requirement", "Meld oppfylt", "Report as met"),
    (
        "waive_requirement",
        "Frita fra kravet",
        "Waive the requirement",
    ),
    // Supplement changes.
    (
        "title_or_description",
        "Oppgi ny tittel, ny beskrivelse eller begge.",
        "Give a new title, a new description or both.",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::Lang;
    use super::*;

    #[test]
    fn no_word_here_is_shadowed_by_the_shared_table() {
        for (k, nb, en) in WORDS {
            assert_eq!((Lang::Nb.t(k), Lang::En.t(k)), (*nb, *en), "{k}");
        }
    }

    /// Every `t("…")` in these pages' sources has words: an unknown key would show itself.
    #[test]
    fn every_key_the_pages_use_has_words() {
        let sources: [&'static str; 7] = [
            include_str!("letters.rs"),
            include_str!("drafting.rs"),
            include_str!("calendar.rs"),
            include_str!("deviations.rs"),
            include_str!("audit_pages.rs"),
            include_str!("reports.rs"),
            include_str!("forms.rs"),
        ];
        let mut checked = 0;
        for source in sources {
            for (i, m) in source.match_indices(".t(\"") {
                let rest = &source[i + m.len()..];
                let key = &rest[..rest.find('"').unwrap()];
                if key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    assert_ne!(Lang::Nb.t(key), key, "no words for {key}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "the scan found the keys ({checked})");
    }

    #[test]
    fn every_key_has_both_languages_and_is_defined_once() {
        let mut seen = std::collections::HashSet::new();
        for (k, nb, en) in WORDS {
            assert!(!nb.is_empty() && !en.is_empty(), "{k}");
            assert!(seen.insert(*k), "{k} twice");
        }
    }
}
