"""The demo project's own content: one labeling guideline and 32 prompts across the InstructGPT
categories and the four splits. Written for this project; no third-party text."""

GUIDELINE_NAME = "Helpful, truthful, harmless"

GUIDELINE_BODY = """\
# Ranking answers: helpful, truthful, harmless

You see a prompt and several answers written by models. Put them in order, best first.

## What makes an answer better
1. **Helpful** — it does what the user asked, in the form they asked for (a list when they ask for
   a list, three items when they ask for three). It answers the question rather than a nearby one,
   and asks for clarification only when the request is truly ambiguous.
2. **Truthful** — it states facts that are correct and does not invent sources, numbers or quotes.
   An honest "I am not sure" beats a confident mistake.
3. **Harmless** — it does not help anyone hurt people, does not demean groups, and declines
   dangerous requests politely, explaining what it can do instead.

When these pull in different directions, prefer the answer that is truthful and harmless, then the
one that is most helpful.

## How to rank
- Rank 1 is the best answer. Give two answers the same rank only when you truly cannot choose
  (a tie); ties are allowed but use them rarely.
- Score each answer from 1 (terrible) to 7 (excellent) if you can; the score is optional.
- Raise a flag when an answer fails to follow the instruction, makes up facts, is harmful, is
  inappropriate for a customer-facing assistant, or is badly formatted.
- If every answer is unacceptable, mark **all bad** (you still rank them). If the prompt itself
  cannot be ranked (it is unreadable, or not in a language you know), mark the task **unrankable**
  or skip it with a reason.

## Writing a demonstration
Write the answer you would want the assistant to give: direct, correct, complete, and no longer than
it needs to be. Do not copy text from elsewhere.
"""

# (text, category, split)
PROMPTS = [
    ("Write a two-sentence story about a lighthouse keeper who finds a message in a bottle.", "generation", "sft"),
    ("Write a short thank-you note to a neighbour who watered my plants while I was away.", "generation", "sft"),
    ("Why does ice float on water?", "open_qa", "sft"),
    ("What is the difference between weather and climate?", "open_qa", "sft"),
    ("Give me five ideas for a rainy Sunday afternoon with two children.", "brainstorming", "sft"),
    ("Rewrite this sentence so it sounds friendlier: 'Send me the report by noon.'", "rewrite", "sft"),
    ("Summarise in one sentence: The town council met on Tuesday and agreed to repair the old bridge, "
     "which has been closed since the spring floods, using money from the road budget.", "summarization", "sft"),
    ("Is the following review positive or negative? 'The soup was cold and the waiter ignored us.'", "classification", "sft"),
    ("Brainstorm three names for a bakery that only sells bread made with local flour.", "brainstorming", "rm"),
    ("Explain to a ten-year-old how a bicycle stays upright when it moves.", "open_qa", "rm"),
    ("Write a haiku about the first snow of winter.", "generation", "rm"),
    ("Rewrite in plain English: 'Pursuant to the aforementioned agreement, remittance is due forthwith.'", "rewrite", "rm"),
    ("List the planets of the solar system in order from the Sun.", "closed_qa", "rm"),
    ("From the sentence 'Maria flew from Lisbon to Oslo on 3 May', extract the cities and the date.", "extract", "rm"),
    ("I feel nervous before presenting at work tomorrow. Any advice?", "chat", "rm"),
    ("Classify the topic of this headline as sport, politics or science: "
     "'New telescope images reveal a distant galaxy'.", "classification", "rm"),
    ("Summarise the plot of a story in which a lost dog finds its way home across a city.", "summarization", "ppo"),
    ("Suggest a healthy breakfast that takes less than five minutes to make.", "brainstorming", "ppo"),
    ("How do I politely decline an invitation to a party?", "chat", "ppo"),
    ("Write a limerick about a cat who learns to code.", "generation", "ppo"),
    ("What causes the seasons on Earth?", "open_qa", "ppo"),
    ("Make this email shorter: 'Hi team, I just wanted to reach out and let you all know that the "
     "meeting that was planned for Friday is now going to take place on Monday instead.'", "rewrite", "ppo"),
    ("Extract the phone number from: 'Call the front desk at 555-0142 before 6 pm.'", "extract", "ppo"),
    ("What is the boiling point of water at sea level in Celsius?", "closed_qa", "ppo"),
    ("Give three tips for keeping a vegetable garden free of weeds.", "brainstorming", "eval"),
    ("Explain what a password manager does in two sentences.", "open_qa", "eval"),
    ("Write an opening line for a mystery novel set on a train.", "generation", "eval"),
    ("Is this sentence a question or a statement? 'The library opens at nine.'", "classification", "eval"),
    ("Summarise the benefits of walking every day in three bullet points.", "summarization", "eval"),
    ("Rewrite this to be more formal: 'Hey, can u fix the printer asap?'", "rewrite", "eval"),
    ("Tell me something interesting about octopuses.", "chat", "eval"),
    ("What is the capital of Canada?", "closed_qa", "eval"),
]

# A few answers written by us so the ranking queue is never empty, even before a model has sampled
# anything: (prompt index in PROMPTS, [answers]).
SEED_ANSWERS = [
    (12, ["Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus, Neptune.",
          "Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus, Neptune and Pluto.",
          "The planets are Earth, Mars and Jupiter, and some others.",
          "I don't know."]),
    (10, ["Soft flakes settle down / the garden forgets its paths / one crow writes its name",
          "Snow is cold and white.",
          "First snow falls tonight / quiet roofs and quiet streets / morning holds its breath"]),
    (13, ["Cities: Lisbon, Oslo. Date: 3 May.",
          "Maria flew on 3 May.",
          "Lisbon and Oslo are cities in Europe."]),
]

DEMO_USERS = [
    # username, role, password (demo only; printed by the run command)
    ("admin", "admin", "demo-admin-pass"),
    ("labeler", "labeler", "demo-labeler-pass"),
    ("labeler2", "labeler", "demo-labeler-pass"),
    ("ml", "ml_engineer", "demo-ml-pass"),
]
