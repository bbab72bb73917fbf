{{include paths-start}}
{{include paths-stored}}
{{repeat bound 7 graph=$graph}}
{{include paths-sources}}
{{repeat paths 8 limit=toInteger($k)}}
  RETURN done
}
