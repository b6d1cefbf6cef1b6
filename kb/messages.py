"""What the app says, in English, Spanish, Polish, Italian and French; language names in each of them."""

from __future__ import annotations

import functools

from .language import UNKNOWN, language_name

UI_LANGUAGES = ("en", "es", "pl", "it", "fr")
DEFAULT = "en"

# key: (en, es, pl, it, fr). `{name}` fields are filled by `Messages.__call__`.
CATALOG: dict[str, tuple[str, str, str, str, str]] = {
    "title": ("Knowledge base", "Base de conocimiento", "Baza wiedzy", "Knowledge base", "Base de connaissances"),
    "intro": (
        "Ask a question in any language. Answers quote the articles and cite every passage, in the language it "
        "was written.",
        "Haz una pregunta en cualquier idioma. Las respuestas citan los artículos y cada pasaje, en el idioma en "
        "que se escribió.",
        "Zadaj pytanie w dowolnym języku. Odpowiedzi cytują artykuły i podają źródło każdego fragmentu, w języku, "
        "w którym go napisano.",
        "Fai una domanda in qualsiasi lingua. Le risposte citano gli articoli e ogni passaggio, nella lingua in cui "
        "è stato scritto.",
        "Posez une question dans n'importe quelle langue. Les réponses citent les articles et chaque passage, dans "
        "la langue où il a été écrit.",
    ),
    "app_config_broken": (
        "The app's settings file could not be used, so the app shows its own wording. {error}",
        "No se pudo usar el archivo de ajustes de la aplicación; se muestran los textos predeterminados. {error}",
        "Nie udało się użyć pliku ustawień aplikacji, więc wyświetlane są teksty domyślne. {error}",
        "Impossibile usare il file di impostazioni dell'app: vengono mostrati i testi predefiniti. {error}",
        "Le fichier de réglages de l'application est inutilisable ; l'application affiche ses textes par défaut. "
        "{error}",
    ),
    "interface_language": (
        "Interface language",
        "Idioma de la interfaz",
        "Język interfejsu",
        "Lingua dell'interfaccia",
        "Langue de l'interface",
    ),
    "view": ("View", "Vista", "Widok", "Vista", "Vue"),
    "view_ask": ("Ask", "Preguntar", "Zapytaj", "Chiedi", "Demander"),
    "view_library": ("Library", "Biblioteca", "Biblioteka", "Biblioteca", "Bibliothèque"),
    "view_principles": ("Principles", "Principios", "Zasady", "Principi", "Principes"),
    "view_gaps": ("Content gaps", "Lagunas de contenido", "Luki w treści", "Lacune di contenuto", "Lacunes de contenu"),
    "kb_header": ("Knowledge base", "Base de conocimiento", "Baza wiedzy", "Knowledge base", "Base de connaissances"),
    "col_language": ("language", "idioma", "język", "lingua", "langue"),
    "col_articles": ("articles", "artículos", "artykuły", "articoli", "articles"),
    "col_passages": ("passages", "pasajes", "fragmenty", "passaggi", "passages"),
    "model_built": (
        "Model: {model}  \nBuilt: {built}",
        "Modelo: {model}  \nCreado: {built}",
        "Model: {model}  \nZbudowano: {built}",
        "Modello: {model}  \nCreato: {built}",
        "Modèle : {model}  \nConstruit : {built}",
    ),
    "skipped_files": (
        "{n} corpus files not indexed",
        "{n} archivos del corpus sin indexar",
        "Nie zindeksowano plików korpusu: {n}",
        "{n} file del corpus non indicizzati",
        "{n} fichiers du corpus non indexés",
    ),
    "stale": (
        "The corpus changed since the index was built ({reason}). Rebuild to include it.",
        "El corpus cambió desde que se creó el índice ({reason}). Reconstrúyelo para incluirlo.",
        "Korpus zmienił się od zbudowania indeksu ({reason}). Przebuduj indeks, aby go uwzględnić.",
        "Il corpus è cambiato da quando l'indice è stato creato ({reason}). Ricostruiscilo per includerlo.",
        "Le corpus a changé depuis la construction de l'index ({reason}). Reconstruisez-le pour l'inclure.",
    ),
    "rebuild": (
        "Rebuild index",
        "Reconstruir el índice",
        "Przebuduj indeks",
        "Ricostruisci l'indice",
        "Reconstruire l'index",
    ),
    "rebuild_help": (
        "Re-index the corpus in the background; answers come from the current index until the new one is ready",
        "Reindexa el corpus en segundo plano; las respuestas salen del índice actual hasta que el nuevo esté listo",
        "Indeksuje korpus w tle; odpowiedzi pochodzą z obecnego indeksu, dopóki nowy nie będzie gotowy",
        "Reindicizza il corpus in background; le risposte vengono dall'indice attuale finché il nuovo non è pronto",
        "Réindexe le corpus en arrière-plan ; l'index actuel répond tant que le nouveau n'est pas prêt",
    ),
    "add_documents": (
        "Add documents",
        "Añadir documentos",
        "Dodaj dokumenty",
        "Aggiungi documenti",
        "Ajouter des documents",
    ),
    "add_help": (
        "HTML, PDF, DOCX, Markdown or text; a file with the name of one in the corpus replaces it",
        "HTML, PDF, DOCX, Markdown o texto; un archivo con el nombre de uno del corpus lo sustituye",
        "HTML, PDF, DOCX, Markdown lub tekst; plik o nazwie pliku z korpusu zastępuje go",
        "HTML, PDF, DOCX, Markdown o testo; un file con il nome di uno del corpus lo sostituisce",
        "HTML, PDF, DOCX, Markdown ou texte ; un fichier portant le nom d'un fichier du corpus le remplace",
    ),
    "upload_limits": (
        "PDF and DOCX up to {binary} MB, HTML, Markdown and text up to {text} MB per file. Drop files here or browse.",
        "PDF y DOCX hasta {binary} MB; HTML, Markdown y texto hasta {text} MB por archivo. Suelta los archivos "
        "aquí o búscalos.",
        "PDF i DOCX do {binary} MB, HTML, Markdown i tekst do {text} MB na plik. Upuść pliki tutaj lub wybierz je.",
        "PDF e DOCX fino a {binary} MB, HTML, Markdown e testo fino a {text} MB per file. Trascina qui i file o "
        "sfogliali.",
        "PDF et DOCX jusqu'à {binary} Mo, HTML, Markdown et texte jusqu'à {text} Mo par fichier. Déposez les "
        "fichiers ici ou parcourez.",
    ),
    "browse": ("Browse files", "Buscar archivos", "Wybierz pliki", "Sfoglia file", "Parcourir"),
    "refused_format_pdf": (
        "{name} was not added: a {suffix} file cannot be read. Export it as PDF and add the PDF.",
        "{name} no se añadió: un archivo {suffix} no se puede leer. Expórtalo como PDF y añade el PDF.",
        "Nie dodano {name}: pliku {suffix} nie da się odczytać. Wyeksportuj go do PDF i dodaj plik PDF.",
        "{name} non è stato aggiunto: un file {suffix} non si può leggere. Esportalo in PDF e aggiungi il PDF.",
        "{name} n'a pas été ajouté : un fichier {suffix} ne peut pas être lu. Exportez-le en PDF et ajoutez le PDF.",
    ),
    "refused_format": (
        "{name} was not added: a {suffix} file cannot be read. Save or export it as PDF, DOCX, HTML, Markdown or "
        "plain text and add that.",
        "{name} no se añadió: un archivo {suffix} no se puede leer. Guárdalo o expórtalo como PDF, DOCX, HTML, "
        "Markdown o texto y añade ese archivo.",
        "Nie dodano {name}: pliku {suffix} nie da się odczytać. Zapisz go lub wyeksportuj jako PDF, DOCX, HTML, "
        "Markdown lub tekst i dodaj ten plik.",
        "{name} non è stato aggiunto: un file {suffix} non si può leggere. Salvalo o esportalo come PDF, DOCX, "
        "HTML, Markdown o testo e aggiungi quello.",
        "{name} n'a pas été ajouté : un fichier {suffix} ne peut pas être lu. Enregistrez-le ou exportez-le en PDF, "
        "DOCX, HTML, Markdown ou texte et ajoutez celui-ci.",
    ),
    "refused_size": (
        "{name} was not added: it is {size} MB, and one article in this format may have {limit} MB. Split it into "
        "smaller files.",
        "{name} no se añadió: ocupa {size} MB y un artículo en este formato puede tener {limit} MB. Divídelo en "
        "archivos más pequeños.",
        "Nie dodano {name}: ma {size} MB, a jeden artykuł w tym formacie może mieć {limit} MB. Podziel go na "
        "mniejsze pliki.",
        "{name} non è stato aggiunto: pesa {size} MB e un articolo in questo formato può averne {limit}. "
        "Dividilo in file più piccoli.",
        "{name} n'a pas été ajouté : il fait {size} Mo, et un article dans ce format peut en faire {limit}. "
        "Découpez-le en fichiers plus petits.",
    ),
    "refused_empty": (
        "{name} was not added: it has no text to index (a scanned PDF holds only images). Export it with its "
        "text, or add the text as a .txt or .md file.",
        "{name} no se añadió: no tiene texto que indexar (un PDF escaneado solo tiene imágenes). Expórtalo con "
        "su texto o añade el texto como archivo .txt o .md.",
        "Nie dodano {name}: nie ma tekstu do zaindeksowania (zeskanowany PDF zawiera tylko obrazy). Wyeksportuj "
        "go z tekstem albo dodaj tekst jako plik .txt lub .md.",
        "{name} non è stato aggiunto: non ha testo da indicizzare (un PDF scansionato contiene solo immagini). "
        "Esportalo con il testo o aggiungi il testo come file .txt o .md.",
        "{name} n'a pas été ajouté : il n'a pas de texte à indexer (un PDF numérisé ne contient que des images). "
        "Exportez-le avec son texte ou ajoutez le texte en fichier .txt ou .md.",
    ),
    "refused_duplicate": (
        "{name} was not added: the knowledge base already has this article ({article}). Edit that article's "
        "file instead, or give this one its own text and id.",
        "{name} no se añadió: la base ya tiene este artículo ({article}). Modifica el archivo de ese artículo, "
        "o da a este su propio texto e id.",
        "Nie dodano {name}: baza ma już ten artykuł ({article}). Zmień plik tamtego artykułu albo nadaj temu "
        "własny tekst i id.",
        "{name} non è stato aggiunto: la knowledge base ha già questo articolo ({article}). Modifica il file di "
        "quell'articolo, oppure dai a questo un testo e un id propri.",
        "{name} n'a pas été ajouté : la base a déjà cet article ({article}). Modifiez plutôt le fichier de cet "
        "article, ou donnez à celui-ci son propre texte et son propre id.",
    ),
    "refused_unreadable": (
        "{name} was not added: it could not be read ({detail}). Open it, save or export it again, and add the "
        "new file.",
        "{name} no se añadió: no se pudo leer ({detail}). Ábrelo, guárdalo o expórtalo de nuevo y añade el "
        "archivo nuevo.",
        "Nie dodano {name}: nie udało się go odczytać ({detail}). Otwórz go, zapisz lub wyeksportuj ponownie i "
        "dodaj nowy plik.",
        "{name} non è stato aggiunto: non è stato possibile leggerlo ({detail}). Aprilo, salvalo o esportalo di "
        "nuovo e aggiungi il nuovo file.",
        "{name} n'a pas été ajouté : il n'a pas pu être lu ({detail}). Ouvrez-le, enregistrez-le ou exportez-le "
        "à nouveau et ajoutez le nouveau fichier.",
    ),
    "refused_name": (
        "{name} was not added: give it a plain file name (not README, no folder, not starting with a dot).",
        "{name} no se añadió: dale un nombre de archivo simple (no README, sin carpeta, sin punto inicial).",
        "Nie dodano {name}: nadaj mu zwykłą nazwę pliku (nie README, bez folderu, bez kropki na początku).",
        "{name} non è stato aggiunto: dagli un nome di file semplice (non README, senza cartella, senza punto "
        "iniziale).",
        "{name} n'a pas été ajouté : donnez-lui un nom de fichier simple (pas README, sans dossier, sans point "
        "initial).",
    ),
    "add_button": (
        "Add to the knowledge base",
        "Añadir a la base de conocimiento",
        "Dodaj do bazy wiedzy",
        "Aggiungi alla knowledge base",
        "Ajouter à la base de connaissances",
    ),
    "job_starting": ("Preparing…", "Preparando…", "Przygotowanie…", "Preparazione…", "Préparation…"),
    "job_reading": (
        "Reading: {done}/{total} files",
        "Leyendo: {done}/{total} archivos",
        "Czytanie: {done}/{total} plików",
        "Lettura: {done}/{total} file",
        "Lecture : {done}/{total} fichiers",
    ),
    "job_embedding": (
        "Embedding: {done}/{total} articles",
        "Vectorizando: {done}/{total} artículos",
        "Wektoryzacja: {done}/{total} artykułów",
        "Vettorizzazione: {done}/{total} articoli",
        "Vectorisation : {done}/{total} articles",
    ),
    "job_adapting": (
        "Fitting the question adapter to the articles…",
        "Ajustando el adaptador de preguntas a los artículos…",
        "Dopasowywanie adaptera pytań do artykułów…",
        "Adattamento dell'adattatore delle domande agli articoli…",
        "Ajustement de l'adaptateur de questions aux articles…",
    ),
    "job_loading": (
        "Loading the new index…",
        "Cargando el nuevo índice…",
        "Wczytywanie nowego indeksu…",
        "Caricamento del nuovo indice…",
        "Chargement du nouvel index…",
    ),
    "left_min": (
        " · about {n} min left",
        " · quedan unos {n} min",
        " · zostało ok. {n} min",
        " · circa {n} min rimanenti",
        " · encore {n} min environ",
    ),
    "left_s": (
        " · about {n} s left",
        " · quedan unos {n} s",
        " · zostało ok. {n} s",
        " · circa {n} s rimanenti",
        " · encore {n} s environ",
    ),
    "job_background": (
        "Runs in the background: you can keep asking, or close this tab.",
        "Se ejecuta en segundo plano: puedes seguir preguntando o cerrar esta pestaña.",
        "Działa w tle: możesz dalej zadawać pytania albo zamknąć tę kartę.",
        "Viene eseguito in background: puoi continuare a chiedere o chiudere questa scheda.",
        "S'exécute en arrière-plan : vous pouvez continuer à poser des questions ou fermer cet onglet.",
    ),
    "job_done": (
        "Index ready in {seconds} s ({documents} articles, {chunks} passages)",
        "Índice listo en {seconds} s ({documents} artículos, {chunks} pasajes)",
        "Indeks gotowy w {seconds} s (artykuły: {documents}, fragmenty: {chunks})",
        "Indice pronto in {seconds} s ({documents} articoli, {chunks} passaggi)",
        "Index prêt en {seconds} s ({documents} articles, {chunks} passages)",
    ),
    "job_unchanged": (
        "Nothing changed: the index is up to date.",
        "Nada cambió: el índice está al día.",
        "Nic się nie zmieniło: indeks jest aktualny.",
        "Nulla è cambiato: l'indice è aggiornato.",
        "Rien n'a changé : l'index est à jour.",
    ),
    "job_added": ("Added {files}", "Añadido: {files}", "Dodano: {files}", "Aggiunto: {files}", "Ajouté : {files}"),
    "job_failed": (
        "The rebuild failed: {error}",
        "La reconstrucción falló: {error}",
        "Przebudowa nie powiodła się: {error}",
        "La ricostruzione non è riuscita: {error}",
        "La reconstruction a échoué : {error}",
    ),
    "skipped_file": (
        "Skipped {path}: {reason}",
        "Omitido {path}: {reason}",
        "Pominięto {path}: {reason}",
        "Saltato {path}: {reason}",
        "Ignoré {path} : {reason}",
    ),
    "first_build": (
        "First start: building the index of the bundled articles…",
        "Primer arranque: creando el índice de los artículos incluidos…",
        "Pierwsze uruchomienie: budowanie indeksu dołączonych artykułów…",
        "Primo avvio: creazione dell'indice degli articoli inclusi…",
        "Premier démarrage : construction de l'index des articles fournis…",
    ),
    "repair": (
        "Rebuild the index now",
        "Reconstruir el índice ahora",
        "Przebuduj indeks teraz",
        "Ricostruisci l'indice ora",
        "Reconstruire l'index maintenant",
    ),
    "repairing": (
        "Rebuilding the index; answers come back when it is ready.",
        "Reconstruyendo el índice; las respuestas volverán cuando esté listo.",
        "Przebudowa indeksu; odpowiedzi wrócą, gdy będzie gotowy.",
        "Ricostruzione dell'indice; le risposte torneranno quando sarà pronto.",
        "Reconstruction de l'index ; les réponses reviendront quand il sera prêt.",
    ),
    "unknown_language": ("unknown", "desconocido", "nieznany", "sconosciuta", "inconnue"),
    "filters": ("Filters", "Filtros", "Filtry", "Filtri", "Filtres"),
    "languages_filter": (
        "Languages of the passages",
        "Idiomas de los pasajes",
        "Języki fragmentów",
        "Lingue dei passaggi",
        "Langues des passages",
    ),
    "choose_language": (
        "Choose at least one language of the passages to search.",
        "Elige al menos un idioma de los pasajes para buscar.",
        "Wybierz co najmniej jeden język fragmentów, aby wyszukiwać.",
        "Scegli almeno una lingua dei passaggi per cercare.",
        "Choisissez au moins une langue des passages pour chercher.",
    ),
    "k_slider": (
        "Passages to draw from",
        "Pasajes de los que partir",
        "Liczba fragmentów źródłowych",
        "Passaggi da cui attingere",
        "Passages à utiliser",
    ),
    "try": ("Try:", "Prueba:", "Spróbuj:", "Prova:", "Essayez :"),
    "chat_placeholder": (
        "Ask a question",
        "Haz una pregunta",
        "Zadaj pytanie",
        "Fai una domanda",
        "Posez une question",
    ),
    "type_question": (
        "Type a question: this one has no words.",
        "Escribe una pregunta: esta no tiene palabras.",
        "Wpisz pytanie: to nie zawiera słów.",
        "Scrivi una domanda: questa non contiene parole.",
        "Tapez une question : celle-ci ne contient aucun mot.",
    ),
    "question_language": (
        "Question language: {lang}",
        "Idioma de la pregunta: {lang}",
        "Język pytania: {lang}",
        "Lingua della domanda: {lang}",
        "Langue de la question : {lang}",
    ),
    "cut_characters": (
        "The question was cut to its first {n} characters.",
        "La pregunta se recortó a sus primeros {n} caracteres.",
        "Pytanie skrócono do pierwszych {n} znaków.",
        "La domanda è stata tagliata ai primi {n} caratteri.",
        "La question a été coupée à ses {n} premiers caractères.",
    ),
    "cut_tokens": (
        "The question was cut to the model's limit of {n} tokens.",
        "La pregunta se recortó al límite del modelo de {n} tokens.",
        "Pytanie skrócono do limitu modelu: {n} tokenów.",
        "La domanda è stata tagliata al limite del modello di {n} token.",
        "La question a été coupée à la limite du modèle de {n} jetons.",
    ),
    "rebuild_running": (
        "A rebuild is already running; its progress is shown in the sidebar.",
        "Ya hay una reconstrucción en curso; su progreso se muestra en la barra lateral.",
        "Przebudowa już trwa; jej postęp widać na pasku bocznym.",
        "È già in corso una ricostruzione; il suo avanzamento è nella barra laterale.",
        "Une reconstruction est déjà en cours ; sa progression s'affiche dans la barre latérale.",
    ),
    "index_unusable": (
        "The index cannot be used. Details: {error}",
        "El índice no se puede usar. Detalles: {error}",
        "Nie można użyć indeksu. Szczegóły: {error}",
        "L'indice non può essere usato. Dettagli: {error}",
        "L'index est inutilisable. Détails : {error}",
    ),
    "question_failed": (
        "This question could not be answered. Details: {error}",
        "No se pudo responder a esta pregunta. Detalles: {error}",
        "Nie udało się odpowiedzieć na to pytanie. Szczegóły: {error}",
        "Non è stato possibile rispondere a questa domanda. Dettagli: {error}",
        "Impossible de répondre à cette question. Détails : {error}",
    ),
    "not_confident": (
        "The knowledge base has no passage that clearly answers this. These are the closest passages.",
        "La base de conocimiento no tiene ningún pasaje que responda claramente. Estos son los más cercanos.",
        "Baza wiedzy nie ma fragmentu, który jasno na to odpowiada. Oto najbliższe fragmenty.",
        "La knowledge base non ha passaggi che rispondano chiaramente. Questi sono i più vicini.",
        "La base de connaissances n'a aucun passage qui y réponde clairement. Voici les plus proches.",
    ),
    "not_clear": (
        "The knowledge base has no passage that clearly answers this. The closest passages:",
        "La base de conocimiento no tiene ningún pasaje que responda claramente. Los más cercanos:",
        "Baza wiedzy nie ma fragmentu, który jasno na to odpowiada. Najbliższe fragmenty:",
        "La knowledge base non ha passaggi che rispondano chiaramente. I più vicini:",
        "La base de connaissances n'a aucun passage qui y réponde clairement. Les plus proches :",
    ),
    "contested": (
        "Several articles answer this about as closely: compare the first points before you rely on one.",
        "Varios artículos responden a esto casi por igual: compara los primeros puntos antes de fiarte de uno.",
        "Kilka artykułów odpowiada na to niemal równie trafnie: porównaj pierwsze punkty, zanim oprzesz się na jednym.",
        "Diversi articoli rispondono a questo quasi allo stesso modo: confronta i primi punti prima di fidarti di uno.",
        "Plusieurs articles y répondent presque autant : comparez les premiers points avant de vous fier à l'un d'eux.",
    ),
    "nothing": (
        "The knowledge base has nothing on this question.",
        "La base de conocimiento no tiene nada sobre esta pregunta.",
        "Baza wiedzy nie ma nic na ten temat.",
        "La knowledge base non ha nulla su questa domanda.",
        "La base de connaissances n'a rien sur cette question.",
    ),
    "tab_answer": ("Answer", "Respuesta", "Odpowiedź", "Risposta", "Réponse"),
    "tab_evidence": ("Evidence", "Evidencia", "Dowody", "Prove", "Éléments"),
    "sources": ("Sources", "Fuentes", "Źródła", "Fonti", "Sources"),
    "sources_n": ("Sources ({n})", "Fuentes ({n})", "Źródła ({n})", "Fonti ({n})", "Sources ({n})"),
    "score": ("score", "puntuación", "wynik", "punteggio", "score"),
    "open_article": ("Open the article", "Abrir el artículo", "Otwórz artykuł", "Apri l'articolo", "Ouvrir l'article"),
    "feedback_more": (
        "Tell the editors",
        "Avisar a los editores",
        "Powiadom redaktorów",
        "Segnala agli editor",
        "Signaler aux rédacteurs",
    ),
    "feedback_wrong": (
        "Sources that do not answer this question",
        "Fuentes que no responden a esta pregunta",
        "Źródła, które nie odpowiadają na to pytanie",
        "Fonti che non rispondono a questa domanda",
        "Sources qui ne répondent pas à cette question",
    ),
    "feedback_pick": ("Choose sources", "Elige fuentes", "Wybierz źródła", "Scegli le fonti", "Choisissez des sources"),
    "feedback_comment": (
        "A comment for the editors (optional)",
        "Un comentario para los editores (opcional)",
        "Komentarz dla redaktorów (opcjonalnie)",
        "Un commento per gli editor (facoltativo)",
        "Un commentaire pour les rédacteurs (facultatif)",
    ),
    "feedback_privacy": (
        "Kept for the editors with the answer's sources, never to reorder answers. Do not write personal data: "
        "e-mail addresses, links and numbers are blanked.",
        "Se guarda para los editores con las fuentes de la respuesta, nunca para reordenar respuestas. No "
        "escribas datos personales: se borran correos, enlaces y números.",
        "Zapisywane dla redaktorów ze źródłami odpowiedzi, nigdy do zmiany kolejności odpowiedzi. Nie wpisuj "
        "danych osobowych: adresy e-mail, linki i numery są usuwane.",
        "Conservato per gli editor con le fonti della risposta, mai per riordinare le risposte. Non scrivere "
        "dati personali: indirizzi e-mail, link e numeri vengono cancellati.",
        "Conservé pour les rédacteurs avec les sources de la réponse, jamais pour réordonner les réponses. "
        "N'écrivez pas de données personnelles : adresses e-mail, liens et numéros sont effacés.",
    ),
    "feedback_send": ("Send", "Enviar", "Wyślij", "Invia", "Envoyer"),
    "feedback_thanks": (
        "Thank you: the editors will see it.",
        "Gracias: los editores lo verán.",
        "Dziękujemy: redaktorzy to zobaczą.",
        "Grazie: gli editor lo vedranno.",
        "Merci : les rédacteurs le verront.",
    ),
    "disliked_header": (
        "Answers found not helpful",
        "Respuestas que no ayudaron",
        "Odpowiedzi oceniane jako nieprzydatne",
        "Risposte giudicate non utili",
        "Réponses jugées inutiles",
    ),
    "disliked_caption": (
        "{helpful} answers were found helpful and {not_helpful} not; grouped by the article their first point cited.",
        "{helpful} respuestas ayudaron y {not_helpful} no; agrupadas por el artículo que citó su primer punto.",
        "Przydatne odpowiedzi: {helpful}, nieprzydatne: {not_helpful}; pogrupowane według artykułu cytowanego w "
        "pierwszym punkcie.",
        "{helpful} risposte giudicate utili e {not_helpful} no; raggruppate per l'articolo citato dal primo punto.",
        "{helpful} réponses jugées utiles et {not_helpful} non ; groupées par l'article cité par leur premier point.",
    ),
    "feedback_off": (
        "Feedback is not kept (KB_FEEDBACK_LOG is off).",
        "No se guardan las valoraciones (KB_FEEDBACK_LOG está desactivado).",
        "Opinie nie są zapisywane (KB_FEEDBACK_LOG jest wyłączone).",
        "I feedback non vengono conservati (KB_FEEDBACK_LOG è disattivato).",
        "Les avis ne sont pas conservés (KB_FEEDBACK_LOG est désactivé).",
    ),
    "no_disliked": (
        "No answer was found not helpful.",
        "Ninguna respuesta se marcó como inútil.",
        "Żadna odpowiedź nie została oceniona jako nieprzydatna.",
        "Nessuna risposta è stata giudicata non utile.",
        "Aucune réponse n'a été jugée inutile.",
    ),
    "flagged_header": (
        "Sources flagged as wrong",
        "Fuentes marcadas como erróneas",
        "Źródła oznaczone jako błędne",
        "Fonti segnalate come errate",
        "Sources signalées comme erronées",
    ),
    "no_flagged": (
        "No source was flagged.",
        "No se marcó ninguna fuente.",
        "Nie oznaczono żadnego źródła.",
        "Nessuna fonte è stata segnalata.",
        "Aucune source n'a été signalée.",
    ),
    "col_times": ("times", "veces", "razy", "volte", "fois"),
    "col_question_languages": (
        "asked in",
        "preguntado en",
        "zadane w językach",
        "chiesto in",
        "posée en",
    ),
    "col_comments": ("comments", "comentarios", "komentarze", "commenti", "commentaires"),
    "col_quote": ("passage", "pasaje", "fragment", "passaggio", "passage"),
    "copy_markdown": (
        "Copy as Markdown",
        "Copiar como Markdown",
        "Kopiuj jako Markdown",
        "Copia come Markdown",
        "Copier en Markdown",
    ),
    "copy_help": (
        "The copy button sits at the top right of the box.",
        "El botón de copiar está arriba a la derecha del recuadro.",
        "Przycisk kopiowania jest w prawym górnym rogu ramki.",
        "Il pulsante per copiare è in alto a destra nel riquadro.",
        "Le bouton de copie se trouve en haut à droite du cadre.",
    ),
    "new_conversation": (
        "New conversation",
        "Nueva conversación",
        "Nowa rozmowa",
        "Nuova conversazione",
        "Nouvelle conversation",
    ),
    "article": ("Article", "Artículo", "Artykuł", "Articolo", "Article"),
    "translation_of": (
        "translation of {doc}",
        "traducción de {doc}",
        "tłumaczenie: {doc}",
        "traduzione di {doc}",
        "traduction de {doc}",
    ),
    "source": ("Source", "Fuente", "Źródło", "Fonte", "Source"),
    "article_changed": (
        "This article changed after the answer was given; ask again to cite its current text.",
        "Este artículo cambió después de la respuesta; vuelve a preguntar para citar su texto actual.",
        "Ten artykuł zmienił się po udzieleniu odpowiedzi; zapytaj ponownie, aby zacytować jego obecny tekst.",
        "Questo articolo è cambiato dopo la risposta; chiedi di nuovo per citarne il testo attuale.",
        "Cet article a changé après la réponse ; reposez la question pour citer son texte actuel.",
    ),
    "article_gone": (
        "This article is no longer in the knowledge base.",
        "Este artículo ya no está en la base de conocimiento.",
        "Tego artykułu nie ma już w bazie wiedzy.",
        "Questo articolo non è più nella knowledge base.",
        "Cet article n'est plus dans la base de connaissances.",
    ),
    "principles_header": (
        "Principles of the corpus",
        "Principios del corpus",
        "Zasady korpusu",
        "Principi del corpus",
        "Principes du corpus",
    ),
    "principles_caption": (
        "Points made by passages of more than one work (an article and its translations are one work), "
        "most widely made first. Each is stated by its most central sentence.",
        "Ideas que aparecen en pasajes de más de una obra (un artículo y sus traducciones son una obra), "
        "de la más extendida a la menos. Cada una se expresa con su frase más central.",
        "Myśli obecne we fragmentach więcej niż jednego dzieła (artykuł i jego tłumaczenia to jedno dzieło), "
        "od najszerzej obecnej. Każdą wyraża jej najbardziej centralne zdanie.",
        "Idee espresse in passaggi di più di un'opera (un articolo e le sue traduzioni sono un'opera), "
        "dalla più diffusa. Ognuna è espressa dalla sua frase più centrale.",
        "Idées exprimées par des passages de plus d'une œuvre (un article et ses traductions forment une œuvre), "
        "de la plus répandue à la moins. Chacune est énoncée par sa phrase la plus centrale.",
    ),
    "no_principles": (
        "No point is made in more than one article: each article says its own thing (as how-to guides do). "
        "The Library lists them all.",
        "Ninguna idea aparece en más de un artículo: cada artículo dice lo suyo (como las guías prácticas). "
        "La Biblioteca los muestra todos.",
        "Żadna myśl nie pojawia się w więcej niż jednym artykule: każdy mówi o czymś swoim (jak poradniki). "
        "Wszystkie są w Bibliotece.",
        "Nessuna idea compare in più di un articolo: ognuno dice la sua (come le guide pratiche). "
        "La Biblioteca li elenca tutti.",
        "Aucune idée n'apparaît dans plus d'un article : chacun dit sa propre chose (comme les guides pratiques). "
        "La Bibliothèque les liste tous.",
    ),
    "principle_caption": (
        "{n} passages · {works} works · {langs}",
        "{n} pasajes · {works} obras · {langs}",
        "fragmenty: {n} · dzieła: {works} · {langs}",
        "{n} passaggi · {works} opere · {langs}",
        "{n} passages · {works} œuvres · {langs}",
    ),
    "the_passages": ("The {n} passages", "Los {n} pasajes", "Fragmenty ({n})", "I {n} passaggi", "Les {n} passages"),
    "library_caption": (
        "{n} articles. Pick one to read it whole.",
        "{n} artículos. Elige uno para leerlo entero.",
        "Artykuły: {n}. Wybierz jeden, aby przeczytać go w całości.",
        "{n} articoli. Scegline uno per leggerlo per intero.",
        "{n} articles. Choisissez-en un pour le lire en entier.",
    ),
    "filter_title": (
        "Title contains",
        "El título contiene",
        "Tytuł zawiera",
        "Il titolo contiene",
        "Le titre contient",
    ),
    "filter_languages": ("Languages", "Idiomas", "Języki", "Lingue", "Langues"),
    "col_title": ("title", "título", "tytuł", "titolo", "titre"),
    "col_source": ("source", "fuente", "źródło", "fonte", "source"),
    "col_translations": ("translations", "traducciones", "tłumaczenia", "traduzioni", "traductions"),
    "col_date": ("date", "fecha", "data", "data", "date"),
    "col_format": ("format", "formato", "format", "formato", "format"),
    "library_open_hint": (
        "Click a row to read its article.",
        "Haz clic en una fila para leer su artículo.",
        "Kliknij wiersz, aby przeczytać artykuł.",
        "Fai clic su una riga per leggere l'articolo.",
        "Cliquez sur une ligne pour lire son article.",
    ),
    "all_languages": (
        "All languages",
        "Todos los idiomas",
        "Wszystkie języki",
        "Tutte le lingue",
        "Toutes les langues",
    ),
    "no_articles": (
        "No article matches.",
        "Ningún artículo coincide.",
        "Żaden artykuł nie pasuje.",
        "Nessun articolo corrisponde.",
        "Aucun article ne correspond.",
    ),
    "gaps_caption": (
        "What to fix first: questions without a confident answer (grouped by meaning across languages), answers "
        "people found not helpful, sources they flagged, articles no question reaches, and translations "
        "missing or behind.",
        "Qué arreglar primero: preguntas sin respuesta segura (agrupadas por significado entre idiomas), "
        "respuestas que no ayudaron, fuentes marcadas, artículos a los que no llega ninguna pregunta y "
        "traducciones que faltan o están atrasadas.",
        "Co poprawić najpierw: pytania bez pewnej odpowiedzi (pogrupowane według znaczenia we wszystkich "
        "językach), nieprzydatne odpowiedzi, oznaczone źródła, artykuły, do których nie trafia żadne pytanie, "
        "oraz brakujące lub nieaktualne tłumaczenia.",
        "Cosa correggere prima: domande senza risposta sicura (raggruppate per significato tra le lingue), "
        "risposte giudicate non utili, fonti segnalate, articoli che nessuna domanda raggiunge e traduzioni "
        "mancanti o in ritardo.",
        "Quoi corriger d'abord : questions sans réponse sûre (regroupées par sens entre les langues), réponses "
        "jugées inutiles, sources signalées, articles qu'aucune question n'atteint et traductions manquantes "
        "ou en retard.",
    ),
    "charts_header": (
        "The knowledge base in pictures",
        "La base de conocimiento en gráficos",
        "Baza wiedzy na wykresach",
        "La knowledge base in grafici",
        "La base de connaissances en graphiques",
    ),
    "chart_questions": (
        "Questions per day, by language",
        "Preguntas por día, por idioma",
        "Pytania dziennie, według języka",
        "Domande al giorno, per lingua",
        "Questions par jour, par langue",
    ),
    "chart_confident": (
        "Share answered with confidence, by language",
        "Proporción respondida con seguridad, por idioma",
        "Odsetek pewnych odpowiedzi, według języka",
        "Quota con risposta sicura, per lingua",
        "Part des réponses sûres, par langue",
    ),
    "chart_coverage": (
        "Articles per language",
        "Artículos por idioma",
        "Artykuły według języka",
        "Articoli per lingua",
        "Articles par langue",
    ),
    "chart_coverage_share": (
        "Share of the articles each language has a version of, and share of its translations behind",
        "Proporción de artículos con versión en cada idioma y de sus traducciones atrasadas",
        "Odsetek artykułów dostępnych w danym języku i odsetek jego nieaktualnych tłumaczeń",
        "Quota di articoli con una versione in ogni lingua e delle sue traduzioni in ritardo",
        "Part des articles ayant une version dans chaque langue, et part de ses traductions en retard",
    ),
    "chart_feedback": (
        "Feedback per day",
        "Valoraciones por día",
        "Opinie dziennie",
        "Feedback al giorno",
        "Avis par jour",
    ),
    "no_usage": (
        "No question was asked in the last {days} days (or the usage log is off: KB_USAGE_LOG).",
        "No se hizo ninguna pregunta en los últimos {days} días (o el registro de uso está desactivado: KB_USAGE_LOG).",
        "W ostatnich {days} dniach nie zadano żadnego pytania (lub dziennik użycia jest wyłączony: KB_USAGE_LOG).",
        "Nessuna domanda negli ultimi {days} giorni (o il registro d'uso è disattivato: KB_USAGE_LOG).",
        "Aucune question ces {days} derniers jours (ou le journal d'utilisation est désactivé : KB_USAGE_LOG).",
    ),
    "use_header": (
        "Articles and the questions that reach them (last {days} days: {asked} questions)",
        "Artículos y las preguntas que llegan a ellos (últimos {days} días: {asked} preguntas)",
        "Artykuły i pytania, które do nich trafiają (ostatnie {days} dni: {asked} pytań)",
        "Articoli e le domande che li raggiungono (ultimi {days} giorni: {asked} domande)",
        "Les articles et les questions qui les atteignent ({days} derniers jours : {asked} questions)",
    ),
    "most_cited": ("Most cited", "Más citados", "Najczęściej cytowane", "Più citati", "Les plus cités"),
    "unreached": (
        "No question reached these ({n} of {total})",
        "Ninguna pregunta llegó a estos ({n} de {total})",
        "Żadne pytanie nie trafiło do tych ({n} z {total})",
        "Nessuna domanda ha raggiunto questi ({n} su {total})",
        "Aucune question n'a atteint ceux-ci ({n} sur {total})",
    ),
    "col_day": ("day", "día", "dzień", "giorno", "jour"),
    "download_charts": (
        "Download the charts' data (CSV)",
        "Descargar los datos de los gráficos (CSV)",
        "Pobierz dane wykresów (CSV)",
        "Scarica i dati dei grafici (CSV)",
        "Télécharger les données des graphiques (CSV)",
    ),
    "repeats_duplicate": (
        "Passages that repeat each other",
        "Pasajes que se repiten",
        "Fragmenty, które się powtarzają",
        "Passaggi che si ripetono",
        "Passages qui se répètent",
    ),
    "repeats_contradiction": (
        "Numbers that differ on one topic (possible contradictions)",
        "Cifras que difieren sobre un mismo tema (posibles contradicciones)",
        "Liczby, które różnią się w tym samym temacie (możliwe sprzeczności)",
        "Numeri che differiscono sullo stesso tema (possibili contraddizioni)",
        "Chiffres qui diffèrent sur un même sujet (contradictions possibles)",
    ),
    "no_duplicate": (
        "No two articles repeat a passage.",
        "Ningún par de artículos repite un pasaje.",
        "Żadne dwa artykuły nie powtarzają fragmentu.",
        "Nessuna coppia di articoli ripete un passaggio.",
        "Aucun article ne répète un passage d'un autre.",
    ),
    "no_contradiction": (
        "No two articles give different numbers on one topic.",
        "Ningún par de artículos da cifras distintas sobre un mismo tema.",
        "Żadne dwa artykuły nie podają różnych liczb w tym samym temacie.",
        "Nessuna coppia di articoli dà numeri diversi sullo stesso tema.",
        "Aucun article ne donne d'autres chiffres qu'un autre sur un même sujet.",
    ),
    "open_place": (
        "Open an article at one of these places",
        "Abrir un artículo en uno de estos lugares",
        "Otwórz artykuł w jednym z tych miejsc",
        "Apri un articolo in uno di questi punti",
        "Ouvrir un article à l'un de ces endroits",
    ),
    "choose_place": ("Choose a place", "Elige un lugar", "Wybierz miejsce", "Scegli un punto", "Choisissez un endroit"),
    "col_questions": ("questions", "preguntas", "pytania", "domande", "questions"),
    "col_other_title": ("other article", "otro artículo", "inny artykuł", "altro articolo", "autre article"),
    "col_other_quote": ("its passage", "su pasaje", "jego fragment", "il suo passaggio", "son passage"),
    "col_similarity": ("similarity", "similitud", "podobieństwo", "somiglianza", "similarité"),
    "col_cited": ("cited", "citado", "cytowany", "citato", "cité"),
    "col_helpful": ("helpful", "útil", "przydatne", "utile", "utile"),
    "col_not_helpful": ("not helpful", "no útil", "nieprzydatne", "non utile", "inutile"),
    "col_covered": ("has a version of", "tiene versión de", "ma wersję", "ha una versione di", "a une version de"),
    "col_behind": (
        "translations behind",
        "traducciones atrasadas",
        "nieaktualne tłumaczenia",
        "traduzioni in ritardo",
        "traductions en retard",
    ),
    "gaps_off": (
        "Unanswered questions are not being kept (KB_GAP_LOG is off).",
        "Las preguntas sin respuesta no se guardan (KB_GAP_LOG está desactivado).",
        "Pytania bez odpowiedzi nie są zapisywane (KB_GAP_LOG jest wyłączony).",
        "Le domande senza risposta non vengono salvate (KB_GAP_LOG è disattivato).",
        "Les questions sans réponse ne sont pas conservées (KB_GAP_LOG est désactivé).",
    ),
    "gaps_privacy": (
        "Kept on this server only: each question's language, the day, the best score and the nearest "
        "article; not its wording, nothing about who asked (KB_GAP_QUESTIONS=on keeps wordings).",
        "Se guarda solo en este servidor: el idioma de cada pregunta, el día, la mejor puntuación y el "
        "artículo más cercano; no su texto ni nada sobre quién preguntó (KB_GAP_QUESTIONS=on guarda el texto).",
        "Przechowywane tylko na tym serwerze: język każdego pytania, dzień, najlepszy wynik i najbliższy "
        "artykuł; nie jego treść ani nic o tym, kto pytał (KB_GAP_QUESTIONS=on zapisuje treść).",
        "Conservato solo su questo server: la lingua di ogni domanda, il giorno, il punteggio migliore e "
        "l'articolo più vicino; non il testo, nulla su chi l'ha posta (KB_GAP_QUESTIONS=on salva il testo).",
        "Conservé sur ce serveur uniquement : la langue de chaque question, le jour, le meilleur score et "
        "l'article le plus proche ; ni son texte ni qui l'a posée (KB_GAP_QUESTIONS=on garde le texte).",
    ),
    "gaps_privacy_wordings": (
        "Kept on this server only: the question's wording with e-mail addresses, links and numbers blanked "
        "(names and street addresses are not recognised: they stay), its language, the day, the best score "
        "and the nearest article; nothing about who asked.",
        "Se guarda solo en este servidor: el texto de la pregunta sin correos, enlaces ni números (los "
        "nombres y direcciones no se reconocen: se quedan), su idioma, el día, la mejor puntuación y el "
        "artículo más cercano; nada sobre quién preguntó.",
        "Przechowywane tylko na tym serwerze: treść pytania bez adresów e-mail, linków i liczb (imiona i "
        "adresy nie są rozpoznawane: zostają), jego język, dzień, najlepszy wynik i najbliższy artykuł; "
        "nic o tym, kto pytał.",
        "Conservato solo su questo server: il testo della domanda senza e-mail, link e numeri (nomi e "
        "indirizzi non vengono riconosciuti: restano), la lingua, il giorno, il punteggio migliore e "
        "l'articolo più vicino; nulla su chi l'ha posta.",
        "Conservé sur ce serveur uniquement : le texte de la question sans e-mails, liens ni nombres (les "
        "noms et adresses ne sont pas reconnus : ils restent), sa langue, le jour, le meilleur score et "
        "l'article le plus proche ; rien sur qui l'a posée.",
    ),
    "unanswered": (
        "Unanswered questions",
        "Preguntas sin respuesta",
        "Pytania bez odpowiedzi",
        "Domande senza risposta",
        "Questions sans réponse",
    ),
    "no_unanswered": (
        "No unanswered question so far.",
        "Por ahora no hay preguntas sin respuesta.",
        "Na razie nie ma pytań bez odpowiedzi.",
        "Finora nessuna domanda senza risposta.",
        "Aucune question sans réponse pour l'instant.",
    ),
    "col_question": ("question", "pregunta", "pytanie", "domanda", "question"),
    "col_nearest": (
        "nearest article",
        "artículo más cercano",
        "najbliższy artykuł",
        "articolo più vicino",
        "article le plus proche",
    ),
    "col_asked": ("asked", "veces", "zadano", "volte", "posée"),
    "col_last": ("last asked", "última vez", "ostatnio", "ultima volta", "dernière fois"),
    "col_best": ("best score", "mejor puntuación", "najlepszy wynik", "punteggio migliore", "meilleur score"),
    "col_wordings": (
        "other wordings",
        "otras formulaciones",
        "inne sformułowania",
        "altre formulazioni",
        "autres formulations",
    ),
    "missing_translations": (
        "Missing translations",
        "Traducciones que faltan",
        "Brakujące tłumaczenia",
        "Traduzioni mancanti",
        "Traductions manquantes",
    ),
    "no_missing": (
        "Every article exists in every language of the corpus.",
        "Todos los artículos existen en todos los idiomas del corpus.",
        "Każdy artykuł istnieje we wszystkich językach korpusu.",
        "Ogni articolo esiste in tutte le lingue del corpus.",
        "Chaque article existe dans toutes les langues du corpus.",
    ),
    "col_versions": ("has", "tiene", "ma", "ha", "existe en"),
    "col_missing": ("missing", "falta", "brakuje", "manca", "manque"),
    "download_csv": ("Download CSV", "Descargar CSV", "Pobierz CSV", "Scarica CSV", "Télécharger le CSV"),
    "local_only": (
        "Served on this machine only, without sign-in: whoever uses it here can change the knowledge base.",
        "Servida solo en esta máquina, sin inicio de sesión: quien la usa aquí puede cambiar la base de conocimiento.",
        "Udostępniana tylko na tym komputerze, bez logowania: kto z niej tu korzysta, może zmieniać bazę wiedzy.",
        "Servita solo su questa macchina, senza accesso: chi la usa qui può modificare la knowledge base.",
        "Servie sur cette machine seulement, sans connexion : qui l'y utilise peut modifier la base de connaissances.",
    ),
    "anonymous_readers": (
        "Open to anyone on the network, as readers: asking and reading only.",
        "Abierta a cualquiera en la red, como lectores: solo preguntar y leer.",
        "Otwarta dla każdego w sieci, w roli czytelnika: tylko pytania i czytanie.",
        "Aperta a chiunque in rete, come lettori: solo domande e lettura.",
        "Ouverte à tous sur le réseau, en lecteurs : poser des questions et lire seulement.",
    ),
    "refused_network": (
        "This app is served beyond this machine and no one is identified, so it does not serve. Serve it on "
        "127.0.0.1, add accounts (kb user add), use a sign-in proxy or OIDC, or set KB_APP_ANONYMOUS=on to "
        "let everyone read (and no one change anything). See docs/access.md.",
        "Esta aplicación se sirve más allá de esta máquina y nadie está identificado, así que no atiende. "
        "Sírvela en 127.0.0.1, crea cuentas (kb user add), usa un proxy de inicio de sesión u OIDC, o define "
        "KB_APP_ANONYMOUS=on para que todos lean (y nadie cambie nada). Ver docs/access.md.",
        "Ta aplikacja jest udostępniana poza tym komputerem i nikt nie jest zidentyfikowany, więc nie działa. "
        "Udostępnij ją na 127.0.0.1, dodaj konta (kb user add), użyj proxy logowania lub OIDC albo ustaw "
        "KB_APP_ANONYMOUS=on, aby wszyscy czytali (i nikt nic nie zmieniał). Zob. docs/access.md.",
        "Questa app è servita oltre questa macchina e nessuno è identificato, quindi non risponde. Servila "
        "su 127.0.0.1, aggiungi account (kb user add), usa un proxy di accesso o OIDC, o imposta "
        "KB_APP_ANONYMOUS=on perché tutti leggano (e nessuno modifichi nulla). Vedi docs/access.md.",
        "Cette application est servie au-delà de cette machine et personne n'est identifié : elle ne sert "
        "pas. Servez-la sur 127.0.0.1, ajoutez des comptes (kb user add), passez par un proxy de connexion "
        "ou OIDC, ou réglez KB_APP_ANONYMOUS=on pour que tous lisent (et personne ne modifie). Voir docs/access.md.",
    ),
    "not_signed_in": (
        "Not signed in: {error}",
        "Sin sesión: {error}",
        "Nie zalogowano: {error}",
        "Accesso non riuscito: {error}",
        "Non connecté : {error}",
    ),
    "sign_in": ("Sign in", "Iniciar sesión", "Zaloguj się", "Accedi", "Se connecter"),
    "sign_out": ("Sign out", "Cerrar sesión", "Wyloguj się", "Esci", "Se déconnecter"),
    "sign_in_oidc": (
        "Sign in with your company account",
        "Iniciar sesión con la cuenta de la empresa",
        "Zaloguj się kontem firmowym",
        "Accedi con l'account aziendale",
        "Se connecter avec le compte de l'entreprise",
    ),
    "sign_in_needed": (
        "Sign in to use the knowledge base.",
        "Inicia sesión para usar la base de conocimiento.",
        "Zaloguj się, aby korzystać z bazy wiedzy.",
        "Accedi per usare la knowledge base.",
        "Connectez-vous pour utiliser la base de connaissances.",
    ),
    "session_expired": (
        "Your session has ended; sign in again.",
        "Tu sesión ha terminado; vuelve a iniciarla.",
        "Sesja wygasła; zaloguj się ponownie.",
        "La sessione è scaduta; accedi di nuovo.",
        "Votre session a pris fin ; reconnectez-vous.",
    ),
    "account_gone": (
        "Your account was removed or changed; sign in again.",
        "Tu cuenta se eliminó o cambió; vuelve a iniciar sesión.",
        "Twoje konto usunięto lub zmieniono; zaloguj się ponownie.",
        "Il tuo account è stato rimosso o modificato; accedi di nuovo.",
        "Votre compte a été supprimé ou modifié ; reconnectez-vous.",
    ),
    "user_name": ("User name", "Usuario", "Nazwa użytkownika", "Nome utente", "Nom d'utilisateur"),
    "password": ("Password", "Contraseña", "Hasło", "Password", "Mot de passe"),
    "sign_in_failed": (
        "Sign-in refused: {error}",
        "Inicio de sesión rechazado: {error}",
        "Logowanie odrzucone: {error}",
        "Accesso rifiutato: {error}",
        "Connexion refusée : {error}",
    ),
    "signed_in_as": (
        "Signed in as {name} ({role}).",
        "Sesión de {name} ({role}).",
        "Zalogowano jako {name} ({role}).",
        "Accesso come {name} ({role}).",
        "Connecté en tant que {name} ({role}).",
    ),
    "role_reader": ("reader", "lector", "czytelnik", "lettore", "lecteur"),
    "role_editor": ("editor", "editor", "redaktor", "editor", "éditeur"),
    "role_admin": ("admin", "administrador", "administrator", "amministratore", "administrateur"),
    "via_external": (
        "sign-in service",
        "servicio de acceso",
        "usługa logowania",
        "servizio di accesso",
        "service de connexion",
    ),
    "via_password": ("password", "contraseña", "hasło", "password", "mot de passe"),
    "view_admin": ("Admin", "Administración", "Administracja", "Amministrazione", "Administration"),
    "audit_header": (
        "Who changed what",
        "Quién cambió qué",
        "Kto co zmienił",
        "Chi ha cambiato cosa",
        "Qui a changé quoi",
    ),
    "audit_empty": (
        "Nothing has been changed yet.",
        "Aún no se ha cambiado nada.",
        "Nic jeszcze nie zmieniono.",
        "Non è ancora cambiato nulla.",
        "Rien n'a encore été changé.",
    ),
    "users_header": ("Accounts", "Cuentas", "Konta", "Account", "Comptes"),
    "users_caption": (
        "Changed on the server: kb user add NAME --role ROLE, kb user remove NAME.",
        "Se cambian en el servidor: kb user add NOMBRE --role ROL, kb user remove NOMBRE.",
        "Zmieniane na serwerze: kb user add NAZWA --role ROLA, kb user remove NAZWA.",
        "Si cambiano sul server: kb user add NOME --role RUOLO, kb user remove NOME.",
        "Modifiés sur le serveur : kb user add NOM --role RÔLE, kb user remove NOM.",
    ),
    "keys_header": ("API keys", "Claves de API", "Klucze API", "Chiavi API", "Clés d'API"),
    "col_when": ("when", "cuándo", "kiedy", "quando", "quand"),
    "col_who": ("who", "quién", "kto", "chi", "qui"),
    "col_role": ("role", "rol", "rola", "ruolo", "rôle"),
    "col_via": ("how", "cómo", "jak", "come", "comment"),
    "col_action": ("action", "acción", "działanie", "azione", "action"),
    "col_detail": ("detail", "detalle", "szczegóły", "dettaglio", "détail"),
    "col_last_used": ("last used", "último uso", "ostatnie użycie", "ultimo uso", "dernière utilisation"),
    "col_revoked": ("revoked", "revocada", "unieważniony", "revocata", "révoquée"),
    "replaces": (
        "Adding these files replaces these articles of the knowledge base (same file name, id or text): {articles}",
        "Añadir estos archivos sustituye estos artículos de la base (mismo nombre de archivo, id o texto): {articles}",
        "Dodanie tych plików zastąpi te artykuły bazy (ta sama nazwa pliku, id lub tekst): {articles}",
        "Aggiungere questi file sostituisce questi articoli della knowledge base (stesso nome di file, id o testo): "
        "{articles}",
        "Ajouter ces fichiers remplace ces articles de la base (même nom de fichier, id ou texte) : {articles}",
    ),
    "replace_confirm": (
        "Replace these {n} articles",
        "Sustituir estos {n} artículos",
        "Zastąp te artykuły ({n})",
        "Sostituisci questi {n} articoli",
        "Remplacer ces {n} articles",
    ),
    "replace_confirm_one": (
        "Replace this article",
        "Sustituir este artículo",
        "Zastąp ten artykuł",
        "Sostituisci questo articolo",
        "Remplacer cet article",
    ),
    "not_allowed": (
        "Your role may not do this.",
        "Tu rol no permite hacer esto.",
        "Twoja rola na to nie pozwala.",
        "Il tuo ruolo non lo consente.",
        "Votre rôle ne le permet pas.",
    ),
    "sources_header": (
        "Help centres ({n})",
        "Centros de ayuda ({n})",
        "Centra pomocy ({n})",
        "Centri assistenza ({n})",
        "Centres d'aide ({n})",
    ),
    "never_synced": (
        "Never synced",
        "Nunca sincronizado",
        "Jeszcze nie zsynchronizowano",
        "Mai sincronizzato",
        "Jamais synchronisé",
    ),
    "last_sync": (
        "Last sync {when}: {articles} articles (+{added}, ~{updated}, −{removed})",
        "Última sincronización {when}: {articles} artículos (+{added}, ~{updated}, −{removed})",
        "Ostatnia synchronizacja {when}: artykuły: {articles} (+{added}, ~{updated}, −{removed})",
        "Ultima sincronizzazione {when}: {articles} articoli (+{added}, ~{updated}, −{removed})",
        "Dernière synchronisation {when} : {articles} articles (+{added}, ~{updated}, −{removed})",
    ),
    "sync_trouble": (
        "Not everything arrived ({failed} articles failed; their previous version is kept). {error}",
        "No llegó todo ({failed} artículos fallaron; se conserva su versión anterior). {error}",
        "Nie wszystko dotarło (nieudane artykuły: {failed}; zachowano ich poprzednią wersję). {error}",
        "Non è arrivato tutto ({failed} articoli non riusciti; resta la versione precedente). {error}",
        "Tout n'est pas arrivé ({failed} articles en échec ; leur version précédente est conservée). {error}",
    ),
    "held_back": (
        "{n} removals held back: more than 20 % of the articles would go (an outage?); `kb sync --allow-deletions`",
        "{n} eliminaciones retenidas: se iría más del 20 % de los artículos (¿una caída?); `kb sync --allow-deletions`",
        "Wstrzymano usunięcia: {n}; zniknęłoby ponad 20 % artykułów (awaria?); `kb sync --allow-deletions`",
        "{n} rimozioni trattenute: sparirebbe oltre il 20 % degli articoli (un guasto?); `kb sync --allow-deletions`",
        "{n} suppressions retenues : plus de 20 % des articles partiraient (une panne ?) ; `kb sync --allow-deletions`",
    ),
    "sync_now": (
        "Sync now",
        "Sincronizar ahora",
        "Synchronizuj teraz",
        "Sincronizza ora",
        "Synchroniser maintenant",
    ),
    "sync_help": (
        "Fetch what changed in the help centres, then update the index",
        "Trae lo que cambió en los centros de ayuda y actualiza el índice",
        "Pobiera zmiany z centrów pomocy i aktualizuje indeks",
        "Scarica ciò che è cambiato nei centri assistenza e aggiorna l'indice",
        "Récupère ce qui a changé dans les centres d'aide, puis met l'index à jour",
    ),
    "job_syncing": (
        "Fetching from the help centres…",
        "Descargando de los centros de ayuda…",
        "Pobieranie z centrów pomocy…",
        "Download dai centri assistenza…",
        "Récupération depuis les centres d'aide…",
    ),
    "job_synced": (
        "{name}: {added} added, {updated} updated, {removed} removed",
        "{name}: {added} añadidos, {updated} actualizados, {removed} eliminados",
        "{name}: dodane {added}, zaktualizowane {updated}, usunięte {removed}",
        "{name}: {added} aggiunti, {updated} aggiornati, {removed} rimossi",
        "{name} : {added} ajoutés, {updated} mis à jour, {removed} supprimés",
    ),
    "stale_translations": (
        "Stale translations",
        "Traducciones desactualizadas",
        "Nieaktualne tłumaczenia",
        "Traduzioni non aggiornate",
        "Traductions périmées",
    ),
    "stale_caption": (
        "Translations their help centre marks out of date, or whose original changed after them.",
        "Traducciones que su centro de ayuda marca como desactualizadas, o cuyo original cambió después.",
        "Tłumaczenia oznaczone w centrum pomocy jako nieaktualne lub których oryginał zmienił się później.",
        "Traduzioni che il centro assistenza segna come non aggiornate, o il cui originale è cambiato dopo.",
        "Traductions que leur centre d'aide marque comme périmées, ou dont l'original a changé depuis.",
    ),
    "no_stale": (
        "No translation is behind its original.",
        "Ninguna traducción está por detrás de su original.",
        "Żadne tłumaczenie nie odstaje od oryginału.",
        "Nessuna traduzione è indietro rispetto all'originale.",
        "Aucune traduction n'est en retard sur son original.",
    ),
    "col_original": ("original", "original", "oryginał", "originale", "original"),
    "col_reason": ("why", "motivo", "powód", "motivo", "raison"),
    "stale_marked": (
        "marked out of date by its help centre",
        "marcada como desactualizada por su centro de ayuda",
        "oznaczone jako nieaktualne w centrum pomocy",
        "segnata come non aggiornata dal centro assistenza",
        "marquée comme périmée par son centre d'aide",
    ),
    "stale_older": (
        "its original changed after it",
        "su original cambió después",
        "oryginał zmienił się później",
        "l'originale è cambiato dopo",
        "son original a changé depuis",
    ),
}


class Messages:
    """The app's words in one interface language: `t("key", name=value)`."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in UI_LANGUAGES else DEFAULT
        self._column = UI_LANGUAGES.index(self.lang)

    def __call__(self, key: str, **fields: object) -> str:
        return CATALOG[key][self._column].format(**fields)

    def language(self, code: str) -> str:
        """The name of language `code` in the interface language, capitalised ("pl" in French: "Polonais")."""
        return self("unknown_language") if code == UNKNOWN else language_in(code, self.lang)

    def when(self, stamp: str) -> str:
        """A time the index records ("2026-12-06T05:45:12+0000") as people read it in this language
        ("6 dic 2026, 5:45 UTC"); the text as it is when it is not such a time."""
        from datetime import datetime

        from babel.dates import format_date, format_time

        for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"):
            try:
                moment = datetime.strptime(stamp, pattern)
            except ValueError:
                continue
            offset = moment.utcoffset()
            minutes = int(offset.total_seconds() // 60) if offset is not None else 0
            zone = (
                "UTC"
                if not minutes
                else f"UTC{'+' if minutes > 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
            )
            local = moment.replace(tzinfo=None)  # the time as recorded, with its offset named
            day, hour = format_date(local, "medium", locale=self.lang), format_time(local, "short", locale=self.lang)
            return f"{day} {hour} {zone}"
        return stamp

    def language_label(self, code: str) -> str:
        """ "Polonais (pl)"; the code alone when no name is known."""
        name = self.language(code)
        return name if name == code or code == UNKNOWN else f"{name} ({code})"


@functools.cache
def language_in(code: str, ui_lang: str) -> str:
    """The name of language `code` in language `ui_lang`, from the CLDR data Babel ships."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(ui_lang).languages.get(code)
    except (UnknownLocaleError, ValueError):
        name = None
    if not name:
        return language_name(code)
    return name[0].upper() + name[1:]


def ui_language(locale: str | None) -> str:
    """The interface language for a browser locale ("pl-PL" -> "pl"; one we lack -> English)."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in UI_LANGUAGES else DEFAULT
