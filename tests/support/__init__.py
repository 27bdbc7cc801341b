"""Helpers the tests share, imported by name from their module:

- `builders`: the smallest prompts, tasks, guidelines and API clients the labeling tests need;
- `concurrency`: start threads together, each on its own database connection;
- `engine`: compare two training runs, stop one midway (the engine's resume tests);
- `workers`: a Celery worker subprocess on the test database, a broker that is down;
- `waiting`: poll until a condition holds.
"""
