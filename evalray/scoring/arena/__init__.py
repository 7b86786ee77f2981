"""Arena statistics: Bradley–Terry ratings with bootstrap intervals and style control (:mod:`.bradley_terry`),
judge agreement (:mod:`.agreement`), AlpacaEval's length-controlled win rate (:mod:`.length_control`)."""
