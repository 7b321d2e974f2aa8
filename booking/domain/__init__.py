"""The rules: places, dates, flight search and weather. Never imports fastapi, openai or the agent."""
