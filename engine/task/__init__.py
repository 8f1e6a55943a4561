"""The task: the Towers of Hanoi, the micro-agent's prompt, and the parser that reads its replies."""
