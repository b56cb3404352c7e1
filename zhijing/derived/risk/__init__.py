"""The risk platform's models (社会风险管控, DESIGN.md §1): one module per model, each
reading the lake (clean and entities zones, never the truth), and the warning loop."""
