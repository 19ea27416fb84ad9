"""From runs to paper-style tables: collect, aggregate with intervals, render, plot, index."""
